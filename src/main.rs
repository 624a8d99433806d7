//! The `ocisim` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ocisim::kernel::SimDuration;
use ocisim::scenario::analyze::{AnalyzeOptions, analyze};
use ocisim::scenario::plan::{LoadOptions, load};
use ocisim::scenario::run::{render_events, run};

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
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    SimDuration::parse(s)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
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
