//! The `ocisim` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ocisim::kernel::SimDuration;
use ocisim::scenario::analyze::{AnalyzeOptions, analyze};
use ocisim::scenario::plan::{LoadOptions, load};
use ocisim::scenario::run::{render_events, run};

/// mimalloc instead of the system allocator: the server's request path is
/// allocation-heavy (JSON trees, header maps), and glibc's malloc and free
/// were about an eighth of its CPU under load (perf, benches/REPORT.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ocisim: a deterministic digital twin of Oracle Cloud Infrastructure.
#[derive(Parser)]
#[command(name = "ocisim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a scenario in virtual time and report. Exit code 0: every expectation
    /// passed; 1: an expectation failed; 2: a bad file or flag.
    Run {
        /// The scenario file (YAML; Kubernetes manifests may follow after `---`).
        file: PathBuf,
        /// Master seed (default: the file's `seed`, else 42).
        #[arg(long)]
        seed: Option<u64>,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Print every event of the log after the report.
        #[arg(long)]
        events: bool,
        /// Explain every scheduling attempt of this pod (repeatable).
        #[arg(long, value_name = "POD")]
        explain: Vec<String>,
    },
    /// Run the scenario once for every single-AD and single-FD failure (each its
    /// own deterministic run, in parallel) and report the worst cases. Exit code
    /// 0: every expectation holds under every failure; 1: some failure breaks
    /// one; 2: a bad file or flag.
    Analyze {
        /// The scenario file.
        file: PathBuf,
        /// When each failure starts, e.g. `30m` (default: a third into the run).
        #[arg(long, value_parser = parse_duration)]
        at: Option<SimDuration>,
        /// How long each failure lasts (default: to the end of the run).
        #[arg(long = "for", value_parser = parse_duration)]
        duration: Option<SimDuration>,
        /// Master seed (default: the file's `seed`, else 42).
        #[arg(long)]
        seed: Option<u64>,
        /// Worker threads (default: the machine's cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Print the analysis as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a scenario file without running it.
    Check {
        /// The scenario file.
        file: PathBuf,
    },
    /// List the regions the twin knows, with their keys and AD counts.
    Regions,
    /// Serve OCI's REST API over the twin on one port, for the OCI SDK and CLI.
    Serve(ServeArgs),
}

/// Flags of `ocisim serve`.
#[derive(clap::Args)]
struct ServeArgs {
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, default_value_t = 12000)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Master seed (OCIDs, chaos draws, the model's randomness).
    #[arg(long, default_value_t = ocisim::scenario::plan::DEFAULT_SEED)]
    seed: u64,
    /// Keep the state in this file (append-only journal) and resume from it.
    #[arg(long, value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// Start from this scenario's topology (network, cluster, workloads, timeline).
    #[arg(long, value_name = "SCENARIO")]
    init: Option<PathBuf>,
    /// Virtual seconds per wall second (0: time moves only by POST /_ocisim/advance).
    #[arg(long, default_value_t = ocisim::api::state::DEFAULT_TIME_SCALE)]
    time_scale: f64,
    /// Region of an empty twin (ignored with --init: the scenario's region wins).
    #[arg(long, default_value = "us-ashburn-1")]
    region: String,
    /// The tenancy OCID (default: minted from the seed); use your SDK config's.
    #[arg(long, value_name = "OCID")]
    tenancy: Option<String>,
    /// Signature checks: `permissive` accepts any well-formed or missing
    /// signature; `strict` verifies every request against the --api-key keys.
    #[arg(long, value_enum, default_value = "permissive")]
    auth: AuthArg,
    /// A public (or private) API key in PEM to trust (repeatable).
    #[arg(long = "api-key", value_name = "FILE")]
    api_keys: Vec<PathBuf>,
    /// Duration table overrides: a JSON object of key to duration (`{"oke.cluster.create": "2m"}`).
    #[arg(long, value_name = "FILE")]
    durations: Option<PathBuf>,
}

/// `--auth` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum AuthArg {
    /// Any well-formed signature (or none) passes.
    Permissive,
    /// Signatures are verified.
    Strict,
}

fn verifier(args: &ServeArgs) -> Result<ocisim::api::auth::Verifier, String> {
    use ocisim::api::auth::{AuthMode, KeyStore, Verifier};
    let mut keys = KeyStore::new();
    for k in &args.api_keys {
        keys.add_file(k).map_err(|e| format!("--api-key {e}"))?;
    }
    let mode = match args.auth {
        AuthArg::Permissive => AuthMode::Permissive,
        AuthArg::Strict => AuthMode::Strict,
    };
    if mode == AuthMode::Strict && keys.is_empty() {
        return Err("--auth strict needs at least one --api-key".into());
    }
    Ok(Verifier::new(mode, keys))
}

fn serve(args: ServeArgs) -> ExitCode {
    let verifier = match verifier(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let init = match &args.init {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => Some((p.display().to_string(), text)),
            Err(e) => {
                eprintln!("error: --init {}: cannot read: {e}", p.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let durations = match &args.durations {
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            .and_then(ocisim::api::control::parse_durations)
        {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: --durations {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
        None => Default::default(),
    };
    if !(args.time_scale >= 0.0 && args.time_scale.is_finite()) {
        eprintln!("error: --time-scale must be a finite number >= 0");
        return ExitCode::from(2);
    }
    let boot = ocisim::api::state::Boot {
        seed: args.seed,
        region: args.region.clone(),
        tenancy_id: args.tenancy.clone(),
        init,
        time_scale: args.time_scale,
        durations,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let addr = std::net::SocketAddr::new(args.host, args.port);
    let result = rt.block_on(async {
        let state = ocisim::api::start(boot, args.state_file.as_deref(), Some(verifier)).await?;
        ocisim::api::serve(state, addr).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    SimDuration::parse(s)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Regions => {
            for r in ocisim::model::topology::REGIONS {
                println!(
                    "{:<20} {}  {:<5} {} AD{}",
                    r.name,
                    r.key,
                    r.realm,
                    r.ad_count,
                    if r.ad_count > 1 { "s" } else { "" }
                );
            }
            ExitCode::SUCCESS
        }
        Command::Analyze {
            file,
            at,
            duration,
            seed,
            threads,
            json,
        } => {
            let opts = AnalyzeOptions {
                at,
                duration,
                seed,
                threads,
            };
            match analyze(&file, &opts) {
                Ok(a) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&a).expect("the analysis serializes")
                        );
                    } else {
                        print!("{}", a.to_text());
                    }
                    if a.all_pass() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Check { file } => match load(&file, &LoadOptions::default()) {
            Ok(l) => {
                println!(
                    "{}: ok ({} virtual nodes, {} timeline actions, {} expectations)",
                    file.display(),
                    l.world.kube.nodes.len(),
                    l.world.actions.len(),
                    l.expectations.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Run {
            file,
            seed,
            json,
            events,
            explain,
        } => {
            let opts = LoadOptions {
                seed,
                keep_log: events,
                explain_pods: explain.clone(),
                check_invariants: false,
            };
            let opts_explain = explain;
            let loaded = match load(&file, &opts) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let (report, world) = run(loaded);
            print!(
                "{}",
                if json {
                    report.to_json()
                } else {
                    report.to_text()
                }
            );
            if events {
                print!("{}", render_events(&world));
            }
            for pod in &opts_explain {
                if !world
                    .explained
                    .iter()
                    .any(|a| &world.kube.pod(a.pod).name == pod)
                {
                    eprintln!(
                        "warning: --explain {pod}: no scheduling attempt of a pod with that name"
                    );
                }
            }
            if !report.completed {
                eprintln!(
                    "the run stopped at the event limit before its end; reproduce with: {}",
                    report.reproduce
                );
                return ExitCode::from(1);
            }
            if report.failed > 0 {
                eprintln!(
                    "{} expectation(s) failed; reproduce with: {}",
                    report.failed, report.reproduce
                );
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
