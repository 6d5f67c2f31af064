//! The `trove-compressor` binary as a process: configuration from the environment, the
//! `listening on` line, the generated token file and shutdown on SIGTERM.

use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_trove-compressor");

/// Starts `serve` on a free port with `data` as its data directory and `env` besides;
/// returns the process, the address from its `listening on` line and the rest of its log.
fn serve(data: &Path, env: &[(&str, &str)]) -> (Child, String, Lines<BufReader<ChildStderr>>) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("TROVE_DATA_DIR", data)
        .env("COMPRESSOR_PORT", "0")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the service exited early").unwrap();
        if let Some((_, addr)) = line.split_once("listening on ") {
            break addr.trim().to_string();
        }
    };
    (child, addr, lines)
}

#[test]
fn serves_with_a_generated_token_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, lines) = serve(dir.path(), &[]);
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");

    let token_path = dir.path().join("compressor/token");
    let token = std::fs::read_to_string(&token_path).unwrap();
    assert_eq!(token.trim().len(), 64);
    assert!(dir.path().join("compressor/index.db").exists());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let health = client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        let stats = client
            .get(format!("http://{addr}/v1/stats"))
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap();
        assert_eq!(stats.status(), 200);
    });

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    let remaining: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        remaining.iter().any(|l| l.contains("shutting down")),
        "{remaining:?}"
    );
}

#[test]
fn unknown_arguments_and_bad_configuration_fail_clearly() {
    let usage = Command::new(BIN).arg("frobnicate").output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("usage: trove-compressor"));

    let dir = tempfile::tempdir().unwrap();
    let bad = Command::new(BIN)
        .env("COMPRESSOR_DATA_DIR", dir.path())
        .env("COMPRESSOR_PORT", "not-a-port")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("COMPRESSOR_PORT"));
}

/// `healthcheck`, as the image's HEALTHCHECK runs it: 0 while the service is ready on the
/// configured port (asked on loopback although it listens on every interface), 1 once it is
/// gone.
#[test]
fn healthcheck_answers_for_the_running_service() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _) = serve(dir.path(), &[("COMPRESSOR_HOST", "0.0.0.0")]);
    let port = addr.rsplit(':').next().unwrap().to_string();
    let healthcheck = || {
        Command::new(BIN)
            .arg("healthcheck")
            .env_clear()
            .env("COMPRESSOR_HOST", "0.0.0.0")
            .env("COMPRESSOR_PORT", &port)
            .output()
            .unwrap()
    };
    let ready = healthcheck();
    assert_eq!(ready.status.code(), Some(0), "{ready:?}");
    assert_eq!(String::from_utf8_lossy(&ready.stdout).trim(), "ready");

    child.kill().unwrap();
    child.wait().unwrap();
    let gone = healthcheck();
    assert_eq!(gone.status.code(), Some(1), "{gone:?}");
    let message = String::from_utf8_lossy(&gone.stderr);
    assert!(
        message.contains(&format!("cannot reach the compressor at 127.0.0.1:{port}")),
        "{message}"
    );
}
