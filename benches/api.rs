//! API bench (issue 3, point 9): `ocisim serve` against moto's server and a
//! bare axum handler, side by side in one run.
//!
//! For GetVcn, ListSubnets (100 subnets) and CreateSubnet it measures
//! requests per second and p50/p99 latency at 1 and 64 concurrent keep-alive
//! clients: ocisim without and with signature checks (`--auth strict`, each
//! request signed with an API key as the OCI SDK signs it), moto's server
//! answering the equivalent EC2 calls (DescribeVpcs, DescribeSubnets,
//! CreateSubnet), and a bare axum handler returning ocisim's own GetVcn JSON
//! (the ceiling of the HTTP stack). It also measures ocisim's start-up time,
//! reset time and idle memory.
//!
//! Each server runs as its own process; the load generator is a tokio
//! current-thread runtime in this process, so the server gets the other
//! core. Requests are built (and signed) before the clock starts.
//!
//! ```sh
//! cargo bench --bench api                  # full run (needs python3; installs moto in target/bench-venv)
//! OCISIM_API_BENCH_SECS=1 cargo bench --bench api   # shorter runs
//! OCISIM_API_BENCH_MOTO=0 cargo bench --bench api   # without moto
//! OCISIM_API_BENCH_BIN=/path/to/ocisim cargo bench --bench api   # another build
//! ```
//!
//! The wall clock is the point of a bench, hence the `allow`s.
#![allow(clippy::disallowed_methods)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use http::{HeaderMap, HeaderValue, Method};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use ocisim::api::auth::RequestSigner;

const ALICE: &str = include_str!("../tests/data/keys/alice.pem");
const ALICE_FP: &str = include_str!("../tests/data/keys/alice.fingerprint");
const TENANCY_USER: &str = "ocid1.user.oc1..aaaaaaaabenchuser";

/// One prepared request.
#[derive(Clone)]
struct Prepared {
    method: Method,
    target: String,
    headers: HeaderMap,
    body: Bytes,
}

/// What one measurement produced.
struct Measured {
    requests: u64,
    errors: u64,
    secs: f64,
    /// CPU time (user and system, all threads) the server process spent
    /// during the measurement.
    server_cpu_secs: f64,
    latency_us: Histogram<u64>,
}

impl Measured {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
    /// Server CPU microseconds per request: what a request costs the
    /// server, a figure that other load on the machine disturbs far less
    /// than the rate.
    fn cpu_us(&self) -> f64 {
        self.server_cpu_secs * 1e6 / self.requests.max(1) as f64
    }
    fn ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q) as f64 / 1000.0
    }
}

fn main() {
    let secs: f64 = std::env::var("OCISIM_API_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let with_moto = std::env::var("OCISIM_API_BENCH_MOTO").map_or(true, |v| v != "0");
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--bare-server") {
        bare_server(&args[i + 1], &args[i + 2]);
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run(secs, with_moto));
}

/// `getconf CLK_TCK`: the unit of /proc's CPU times (100 on Linux unless
/// the kernel says otherwise).
fn clock_ticks_per_sec() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A free loopback port.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Kills the child when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// CPU seconds (user and system, all threads) the process has used,
    /// from /proc/<pid>/stat; NaN where that cannot be read.
    fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // The fields after the parenthesised command name; utime and stime
        // are fields 14 and 15 of the whole line, in clock ticks.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            return f64::NAN;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
        match (ticks(11), ticks(12)) {
            (Some(u), Some(s)) => (u + s) / clock_ticks_per_sec(),
            _ => f64::NAN,
        }
    }

    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

async fn run(secs: f64, with_moto: bool) {
    let key_pub = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keys/alice.pub.pem");
    println!("# API bench ({secs} s per measurement)\n");

    // ocisim, permissive (no signature checks).
    let (plain, startup_ms) = start_ocisim(&[]).await;
    let setup = setup_ocisim(plain.addr).await;
    let idle_mib = plain.rss_mib();
    let reset_ms = measure_reset(plain.addr).await;
    // After the reset the fixtures are gone: make them again.
    let setup = setup_ocisim_again(plain.addr, setup).await;
    println!("ocisim start-up (spawn to healthy): {startup_ms:.1} ms");
    println!("ocisim reset (POST /_ocisim/reset, median of 20): {reset_ms:.2} ms");
    println!("ocisim idle RSS after start-up: {idle_mib:.1} MiB\n");

    // ocisim, strict (every request signed and verified).
    let key_arg = key_pub.display().to_string();
    let (strict, _) = start_ocisim(&["--auth", "strict", "--api-key", &key_arg]).await;
    let signer = RequestSigner::new(
        &format!("{}/{TENANCY_USER}/{}", setup.tenancy, ALICE_FP.trim()),
        ALICE,
    )
    .expect("signer");
    let strict_setup = setup_ocisim_signed(strict.addr, &signer).await;

    // The bare axum handler returns ocisim's own GetVcn body.
    let vcn_json = get_body(plain.addr, &format!("/20160918/vcns/{}", setup.vcn), None).await;
    let bare = start_bare(&vcn_json).await;

    let moto = if with_moto { start_moto().await } else { None };
    let moto_setup = match &moto {
        Some(m) => Some(setup_moto(m.addr).await),
        None => None,
    };

    let mut rows = Vec::new();
    for clients in [1usize, 64] {
        // GetVcn.
        let path = format!("/20160918/vcns/{}", setup.vcn);
        rows.push(row(
            "GetVcn",
            "ocisim",
            clients,
            measure(&plain, vec![get(plain.addr, &path, None)], clients, secs).await,
        ));
        let spath = format!("/20160918/vcns/{}", strict_setup.vcn);
        rows.push(row(
            "GetVcn",
            "ocisim+sig",
            clients,
            measure(
                &strict,
                vec![get(strict.addr, &spath, Some(&signer))],
                clients,
                secs,
            )
            .await,
        ));
        // Every request signed afresh (a distinct request-target each), so
        // the verifier's cache of verified signatures never hits.
        let fresh = fresh_gets(strict.addr, &spath, &signer, clients, secs);
        rows.push(row(
            "GetVcn",
            "ocisim+sig/new",
            clients,
            measure(&strict, fresh, clients, secs).await,
        ));
        rows.push(row(
            "GetVcn",
            "bare axum",
            clients,
            measure(&bare, vec![get(bare.addr, &path, None)], clients, secs).await,
        ));
        if let (Some(m), Some(ms)) = (&moto, &moto_setup) {
            let q = format!("Action=DescribeVpcs&Version=2016-11-15&VpcId.1={}", ms.vpc);
            rows.push(row(
                "DescribeVpcs",
                "moto",
                clients,
                measure(m, vec![moto_req(m.addr, &q)], clients, secs).await,
            ));
        }
        // ListSubnets, 100 subnets.
        let path = format!(
            "/20160918/subnets?compartmentId={}&vcnId={}&limit=100",
            setup.tenancy, setup.vcn
        );
        rows.push(row(
            "ListSubnets(100)",
            "ocisim",
            clients,
            measure(&plain, vec![get(plain.addr, &path, None)], clients, secs).await,
        ));
        let spath = format!(
            "/20160918/subnets?compartmentId={}&vcnId={}&limit=100",
            strict_setup.tenancy, strict_setup.vcn
        );
        rows.push(row(
            "ListSubnets(100)",
            "ocisim+sig",
            clients,
            measure(
                &strict,
                vec![get(strict.addr, &spath, Some(&signer))],
                clients,
                secs,
            )
            .await,
        ));
        if let (Some(m), Some(ms)) = (&moto, &moto_setup) {
            let q = format!(
                "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1={}",
                ms.vpc
            );
            rows.push(row(
                "DescribeSubnets(100)",
                "moto",
                clients,
                measure(m, vec![moto_req(m.addr, &q)], clients, secs).await,
            ));
        }
    }
    // CreateSubnet last, once the list measurements are done: the subnets it
    // adds would otherwise sit in the region that ListSubnets filters.
    for clients in [1usize, 64] {
        // CreateSubnet: each request a new /28 in a fresh VCN.
        let creates =
            create_subnet_requests(plain.addr, &setup.tenancy, None, (clients > 1) as u32).await;
        rows.push(row(
            "CreateSubnet",
            "ocisim",
            clients,
            measure(&plain, creates, clients, secs).await,
        ));
        let creates = create_subnet_requests(
            strict.addr,
            &strict_setup.tenancy,
            Some(&signer),
            (clients > 1) as u32,
        )
        .await;
        rows.push(row(
            "CreateSubnet",
            "ocisim+sig",
            clients,
            measure(&strict, creates, clients, secs).await,
        ));
        if let Some(m) = &moto {
            let creates = moto_create_subnet_requests(m.addr).await;
            rows.push(row(
                "CreateSubnet",
                "moto",
                clients,
                measure(m, creates, clients, secs).await,
            ));
        }
    }
    // ListSubnets again, now that the CreateSubnet rounds have put thousands
    // of subnets in other VCNs of the same compartment: a list costs what it
    // returns, so the rate must not fall.
    let elsewhere = 100
        + rows
            .iter()
            .filter(|r| r.op == "CreateSubnet" && r.server == "ocisim")
            .map(|r| r.m.requests - r.m.errors)
            .sum::<u64>();
    eprintln!("ListSubnets(100) again with {elsewhere} subnets in the region");
    for clients in [1usize, 64] {
        let path = format!(
            "/20160918/subnets?compartmentId={}&vcnId={}&limit=100",
            setup.tenancy, setup.vcn
        );
        rows.push(row(
            "ListSubnets(100) after creates",
            "ocisim",
            clients,
            measure(&plain, vec![get(plain.addr, &path, None)], clients, secs).await,
        ));
    }
    println!("Subnets in the region during the last ListSubnets rows: {elsewhere}\n");
    print_table(&rows);
    drop(moto);
}

struct Row {
    op: &'static str,
    server: &'static str,
    clients: usize,
    m: Measured,
}

fn row(op: &'static str, server: &'static str, clients: usize, m: Measured) -> Row {
    eprintln!(
        "{op:>20} {server:>11} {clients:>3} clients: {:>9.0} req/s p50 {:.3} ms p99 {:.3} ms, server {:.0} us CPU/req ({} errors)",
        m.rps(),
        m.ms(0.5),
        m.ms(0.99),
        m.cpu_us(),
        m.errors
    );
    Row {
        op,
        server,
        clients,
        m,
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "| operation | server | clients | req/s | p50 ms | p99 ms | server CPU µs/req | requests | errors |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.0} | {:.3} | {:.3} | {:.0} | {} | {} |",
            r.op,
            r.server,
            r.clients,
            r.m.rps(),
            r.m.ms(0.5),
            r.m.ms(0.99),
            r.m.cpu_us(),
            r.m.requests,
            r.m.errors
        );
    }
    let find = |op: &str, server: &str, clients: usize| {
        rows.iter()
            .find(|r| r.op == op && r.server == server && r.clients == clients)
            .map(|r| r.m.rps())
    };
    println!();
    for clients in [1, 64] {
        if let (Some(o), Some(m)) = (
            find("GetVcn", "ocisim+sig/new", clients),
            find("DescribeVpcs", "moto", clients),
        ) {
            println!(
                "GetVcn at {clients} clients: ocisim with a new signature per request / moto = {:.0}x",
                o / m
            );
        }
    }
    for clients in [1, 64] {
        if let (Some(o), Some(b)) = (
            find("GetVcn", "ocisim", clients),
            find("GetVcn", "bare axum", clients),
        ) {
            println!(
                "GetVcn at {clients} clients: ocisim / bare axum = {:.2}",
                o / b
            );
        }
        if let (Some(o), Some(m)) = (
            find("GetVcn", "ocisim+sig", clients),
            find("DescribeVpcs", "moto", clients),
        ) {
            println!(
                "GetVcn at {clients} clients: ocisim with signatures / moto = {:.0}x",
                o / m
            );
        }
        if let (Some(o), Some(m)) = (
            find("ListSubnets(100)", "ocisim+sig", clients),
            find("DescribeSubnets(100)", "moto", clients),
        ) {
            println!(
                "ListSubnets(100) at {clients} clients: ocisim with signatures / moto = {:.0}x",
                o / m
            );
        }
    }
}

/// Fires the prepared requests from `clients` keep-alive connections for
/// `secs` seconds (or until the list runs out, when it is longer than one).
async fn measure(server: &Server, requests: Vec<Prepared>, clients: usize, secs: f64) -> Measured {
    let addr = server.addr;
    let cpu0 = server.cpu_secs();
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let requests = Arc::clone(&requests);
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let mut errors = 0u64;
            let mut sender = connect(addr).await;
            loop {
                if Instant::now() >= deadline {
                    break;
                }
                let req = if requests.len() == 1 {
                    &requests[0]
                } else {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    match requests.get(i) {
                        Some(r) => r,
                        None => break,
                    }
                };
                let t0 = Instant::now();
                let status = match send(&mut sender, req).await {
                    Some(status) => status,
                    None => {
                        // The server closed the connection (moto's server
                        // speaks HTTP/1.0 without keep-alive): reconnect,
                        // and count the reconnection in this request's time.
                        sender = connect(addr).await;
                        send(&mut sender, req).await.unwrap_or(0)
                    }
                };
                hist.record(t0.elapsed().as_micros().max(1) as u64).unwrap();
                if !(200..300).contains(&status) {
                    errors += 1;
                }
            }
            (hist, errors)
        }));
    }
    let mut latency_us = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await.expect("client task");
        latency_us.add(&h).unwrap();
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    Measured {
        requests: latency_us.len(),
        errors,
        secs,
        server_cpu_secs: server.cpu_secs() - cpu0,
        latency_us,
    }
}

async fn connect(addr: SocketAddr) -> http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

/// Sends one request; `None` when the connection is closed.
async fn send(sender: &mut http1::SendRequest<Full<Bytes>>, req: &Prepared) -> Option<u16> {
    let mut builder = hyper::Request::builder()
        .method(req.method.clone())
        .uri(req.target.as_str());
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    let request = builder.body(Full::new(req.body.clone())).expect("request");
    sender.ready().await.ok()?;
    let resp = sender.send_request(request).await.ok()?;
    let status = resp.status().as_u16();
    resp.into_body().collect().await.ok()?;
    Some(status)
}

fn http_date() -> String {
    httpdate::fmt_http_date(SystemTime::now())
}

fn base_headers(addr: SocketAddr) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("host", HeaderValue::from_str(&addr.to_string()).unwrap());
    h.insert("accept", HeaderValue::from_static("application/json"));
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h
}

/// Enough GetVcn requests, each signed afresh (a distinct request-target:
/// `?nonce=<clients>-<i>`), for about `secs`, signed on
/// two threads before the clock starts so that the run is not over before
/// the 64 connections are up.
fn fresh_gets(
    addr: SocketAddr,
    path: &str,
    signer: &RequestSigner,
    clients: usize,
    secs: f64,
) -> Vec<Prepared> {
    // Enough for the whole run at the rates seen here (about 5,000 req/s from
    // one client, 25,000 from 64), so the run lasts its `secs`.
    let per_sec = if clients > 1 { 30_000.0 } else { 8_000.0 };
    let n = ((secs * per_sec) as usize).max(3000);
    let half = n / 2;
    std::thread::scope(|sc| {
        let parts: Vec<_> = [(0, half), (half, n)]
            .into_iter()
            .map(|(from, to)| {
                sc.spawn(move || {
                    (from..to)
                        .map(|i| get(addr, &format!("{path}?nonce={clients}-{i}"), Some(signer)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("signing thread"))
            .collect()
    })
}

fn get(addr: SocketAddr, target: &str, signer: Option<&RequestSigner>) -> Prepared {
    prepare(addr, Method::GET, target, Bytes::new(), signer)
}

fn prepare(
    addr: SocketAddr,
    method: Method,
    target: &str,
    body: Bytes,
    signer: Option<&RequestSigner>,
) -> Prepared {
    let mut headers = base_headers(addr);
    headers.insert("date", HeaderValue::from_str(&http_date()).unwrap());
    if let Some(s) = signer {
        s.sign(&method, target, &mut headers, &body, &http_date())
            .expect("sign");
    } else if method == Method::POST {
        headers.insert("content-length", HeaderValue::from(body.len()));
    }
    Prepared {
        method,
        target: target.to_string(),
        headers,
        body,
    }
}

/// Sends one request outside a measurement and returns (status, body).
async fn call(addr: SocketAddr, req: Prepared) -> (u16, String) {
    let mut sender = connect(addr).await;
    let mut builder = hyper::Request::builder()
        .method(req.method.clone())
        .uri(req.target.as_str());
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    sender.ready().await.expect("ready");
    let resp = sender
        .send_request(builder.body(Full::new(req.body.clone())).unwrap())
        .await
        .expect("response");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn get_body(addr: SocketAddr, target: &str, signer: Option<&RequestSigner>) -> String {
    let (status, body) = call(addr, get(addr, target, signer)).await;
    assert_eq!(status, 200, "GET {target}: {body}");
    body
}

async fn post_json(
    addr: SocketAddr,
    target: &str,
    body: serde_json::Value,
    signer: Option<&RequestSigner>,
) -> serde_json::Value {
    let req = prepare(
        addr,
        Method::POST,
        target,
        Bytes::from(body.to_string()),
        signer,
    );
    let (status, text) = call(addr, req).await;
    assert!(
        (200..300).contains(&status),
        "POST {target}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// The `ocisim` under test: this build's, or `OCISIM_API_BENCH_BIN` (to put
/// two builds side by side, one run each).
fn ocisim_binary() -> PathBuf {
    std::env::var_os("OCISIM_API_BENCH_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_ocisim")),
        PathBuf::from,
    )
}

async fn start_ocisim(extra: &[&str]) -> (Server, f64) {
    let port = free_port();
    let t0 = Instant::now();
    let child = Command::new(ocisim_binary())
        .args(["serve", "--port", &port.to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn ocisim serve");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = Server { child, addr };
    wait_healthy(addr, "/_ocisim/health").await;
    (server, t0.elapsed().as_secs_f64() * 1000.0)
}

async fn wait_healthy(addr: SocketAddr, path: &str) {
    for _ in 0..3000 {
        if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
            drop(stream);
            let (status, _) = call(addr, get(addr, path, None)).await;
            if status == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{addr} did not become healthy");
}

struct OcisimSetup {
    tenancy: String,
    vcn: String,
}

async fn tenancy_of(addr: SocketAddr, signer: Option<&RequestSigner>) -> String {
    let body = get_body(addr, "/_ocisim/health", signer).await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("health JSON");
    v["tenancyId"]
        .as_str()
        .expect("health names the tenancy")
        .to_string()
}

async fn setup_ocisim(addr: SocketAddr) -> OcisimSetup {
    setup_with(addr, None).await
}

async fn setup_ocisim_again(addr: SocketAddr, _old: OcisimSetup) -> OcisimSetup {
    setup_with(addr, None).await
}

async fn setup_ocisim_signed(addr: SocketAddr, signer: &RequestSigner) -> OcisimSetup {
    setup_with(addr, Some(signer)).await
}

/// A VCN 10.0.0.0/16 with 100 /24 subnets.
async fn setup_with(addr: SocketAddr, signer: Option<&RequestSigner>) -> OcisimSetup {
    let tenancy = tenancy_of(addr, None).await;
    let vcn = post_json(
        addr,
        "/20160918/vcns",
        serde_json::json!({"compartmentId": tenancy, "cidrBlocks": ["10.0.0.0/16"], "displayName": "bench"}),
        signer,
    )
    .await;
    let vcn = vcn["id"].as_str().expect("vcn id").to_string();
    for i in 0..100 {
        post_json(
            addr,
            "/20160918/subnets",
            serde_json::json!({"compartmentId": tenancy, "vcnId": vcn, "cidrBlock": format!("10.0.{i}.0/24"), "displayName": format!("s{i}")}),
            signer,
        )
        .await;
    }
    OcisimSetup { tenancy, vcn }
}

/// Enough CreateSubnet requests for a measurement: /28s in 20 fresh VCNs
/// of one /16 each, up to the twin's subnets-per-VCN limit in each.
async fn create_subnet_requests(
    addr: SocketAddr,
    tenancy: &str,
    signer: Option<&RequestSigner>,
    round: u32,
) -> Vec<Prepared> {
    let per_vcn = subnets_per_vcn_limit();
    let mut out = Vec::new();
    for v in 0..20u32 {
        let block = 100 + round * 50 + v;
        let vcn = post_json(
            addr,
            "/20160918/vcns",
            serde_json::json!({"compartmentId": tenancy, "cidrBlocks": [format!("10.{block}.0.0/16")], "displayName": format!("create{v}")}),
            signer,
        )
        .await;
        let vcn = vcn["id"].as_str().expect("vcn id").to_string();
        for n in 0..per_vcn {
            let cidr = format!("10.{block}.{}.{}/28", n / 16, (n % 16) * 16);
            let body =
                serde_json::json!({"compartmentId": tenancy, "vcnId": vcn, "cidrBlock": cidr});
            out.push(prepare(
                addr,
                Method::POST,
                "/20160918/subnets",
                Bytes::from(body.to_string()),
                signer,
            ));
        }
    }
    out
}

/// Subnets per VCN the twin allows by default (domain.md §2).
fn subnets_per_vcn_limit() -> usize {
    ocisim::model::network::NetworkLimits::default().subnets_per_vcn
}

// ---- moto ----

struct MotoSetup {
    vpc: String,
}

fn venv_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-venv")
}

/// moto's server from a venv under target/ (made once from
/// benches/requirements.txt).
async fn start_moto() -> Option<Server> {
    let venv = venv_dir();
    let python = venv.join("bin/python");
    // A venv whose moto does not import (half-made, or its interpreter gone)
    // is made again.
    let importable = || {
        Command::new(&python)
            .args(["-c", "import moto.server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !importable() {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(&python)
                .args(["-m", "pip", "install", "-q", "-r"])
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/requirements.txt"))
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("moto could not be installed; skipping it");
            return None;
        }
    }
    let port = free_port();
    // `python -m moto.server`, not the `moto_server` script: a script's
    // shebang names the directory the venv was made in, so a venv that was
    // moved (a copied target/ directory) would fail to spawn.
    let child = match Command::new(&python)
        .args(["-m", "moto.server", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("moto's server did not start ({e}); skipping it");
            return None;
        }
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = Server { child, addr };
    wait_healthy(addr, "/moto-api/").await;
    Some(server)
}

fn moto_req(addr: SocketAddr, form: &str) -> Prepared {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_str(&addr.to_string()).unwrap());
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    headers.insert(
        "authorization",
        HeaderValue::from_static(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00",
        ),
    );
    headers.insert("content-length", HeaderValue::from(form.len()));
    Prepared {
        method: Method::POST,
        target: "/".to_string(),
        headers,
        body: Bytes::from(form.to_string()),
    }
}

fn xml_field(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).expect("tag in moto's answer") + open.len();
    let end = xml[start..].find("</").unwrap() + start;
    xml[start..end].to_string()
}

async fn setup_moto(addr: SocketAddr) -> MotoSetup {
    let (_, xml) = call(
        addr,
        moto_req(
            addr,
            "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0/16",
        ),
    )
    .await;
    let vpc = xml_field(&xml, "vpcId");
    for i in 0..100 {
        let q =
            format!("Action=CreateSubnet&Version=2016-11-15&VpcId={vpc}&CidrBlock=10.0.{i}.0/24");
        let (status, body) = call(addr, moto_req(addr, &q)).await;
        assert_eq!(status, 200, "moto CreateSubnet: {body}");
    }
    MotoSetup { vpc }
}

async fn moto_create_subnet_requests(addr: SocketAddr) -> Vec<Prepared> {
    let mut out = Vec::new();
    for v in 0..4u32 {
        let (_, xml) = call(
            addr,
            moto_req(
                addr,
                &format!(
                    "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.{}.0.0/16",
                    100 + v
                ),
            ),
        )
        .await;
        let vpc = xml_field(&xml, "vpcId");
        for n in 0..4096u32 {
            let cidr = format!("10.{}.{}.{}/28", 100 + v, n / 16, (n % 16) * 16);
            out.push(moto_req(
                addr,
                &format!("Action=CreateSubnet&Version=2016-11-15&VpcId={vpc}&CidrBlock={cidr}"),
            ));
        }
    }
    out
}

// ---- bare axum ----

/// The bare handler: a separate process (this bench binary re-executed)
/// serving `body` on every path with axum's defaults.
fn bare_server(port: &str, body_file: &str) {
    let body = std::fs::read_to_string(body_file).expect("body file");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let body: &'static str = Box::leak(body.into_boxed_str());
        let app = axum::Router::new().fallback(move || async move {
            ([(http::header::CONTENT_TYPE, "application/json")], body)
        });
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
            .await
            .expect("bind");
        axum::serve(listener, app).await.expect("serve");
    });
}

async fn start_bare(body: &str) -> Server {
    let file = std::env::temp_dir().join(format!("ocisim-bench-vcn-{}.json", std::process::id()));
    std::fs::write(&file, body).expect("write body");
    let port = free_port();
    let child = Command::new(std::env::current_exe().expect("bench exe"))
        .args([
            "--bare-server",
            &port.to_string(),
            &file.display().to_string(),
        ])
        .spawn()
        .expect("spawn bare server");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = Server { child, addr };
    wait_healthy(addr, "/").await;
    server
}

async fn measure_reset(addr: SocketAddr) -> f64 {
    let mut times = Vec::new();
    for _ in 0..20 {
        let req = prepare(addr, Method::POST, "/_ocisim/reset", Bytes::new(), None);
        let t0 = Instant::now();
        let (status, body) = call(addr, req).await;
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        assert!((200..300).contains(&status), "reset: {status} {body}");
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
