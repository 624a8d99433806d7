//! The compatibility suite: the real OCI Python SDK and OCI CLI (pinned in
//! `tests/sdk/requirements.txt`) against the built `ocisim serve`.
//!
//! The first run creates a virtualenv under `target/` and installs the pinned
//! packages; later runs reuse it while the requirements file is unchanged
//! (the directory name carries its hash). Without python3, venv or pip the
//! test fails and says what to install: it never skips.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Stops the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The virtualenv for the current requirements, created on first use.
fn venv(root: &Path) -> PathBuf {
    let req = root.join("tests/sdk/requirements.txt");
    let text = std::fs::read(&req).expect("tests/sdk/requirements.txt is readable");
    let dir = root.join(format!("target/sdk-venv-{:016x}", fnv(&text)));
    if dir.join(".ready").exists() {
        return dir;
    }
    let python = Command::new("python3").arg("--version").output();
    assert!(
        python.as_ref().is_ok_and(|o| o.status.success()),
        "the SDK compatibility suite needs python3 (with the venv module and pip): \
         install them, e.g. `apt-get install python3 python3-venv python3-pip` ({python:?})"
    );
    let _ = std::fs::remove_dir_all(&dir);
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&dir),
        "creating the virtualenv (python3 -m venv; on Debian install python3-venv)",
    );
    run(
        Command::new(dir.join("bin/pip"))
            .args(["install", "--disable-pip-version-check", "-q", "-r"])
            .arg(&req),
        "pip install -r tests/sdk/requirements.txt",
    );
    std::fs::write(dir.join(".ready"), b"ok\n").expect("the venv marker is writable");
    dir
}

/// Starts `ocisim serve` on a free port and returns it with its URL.
fn start_server() -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocisim"))
        .args(["serve", "--port", "0", "--time-scale", "600", "--seed", "7"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the ocisim binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the server prints its address");
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected first line from ocisim serve: {line:?}"))
        .to_string();
    (server, url)
}

#[test]
fn oci_sdk_and_cli_against_ocisim_serve() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = venv(&root);
    let (_server, url) = start_server();
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = Command::new(venv.join("bin/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/sdk"])
        .current_dir(&root)
        .env("OCISIM_ENDPOINT", &url)
        .env("OCISIM_BIN", env!("CARGO_BIN_EXE_ocisim"))
        .env("PATH", path)
        .env("OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING", "True")
        .env("SUPPRESS_LABEL_WARNING", "True")
        .status()
        .expect("pytest starts");
    assert!(
        status.success(),
        "the SDK/CLI compatibility suite failed ({status}); rerun with: \
         OCISIM_BIN=target/debug/ocisim {}/bin/python -m pytest tests/sdk",
        venv.display()
    );
}
