//! The real service on 127.0.0.1, port 0, spoken to over HTTP.

use std::path::PathBuf;

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use trove_compressor::app::{self, Running};
use trove_compressor::config::Config;

const TOKEN: &str = "test-token-0123456789";

struct TestApp {
    running: Running,
    client: Client,
    dir: tempfile::TempDir,
}

async fn start_with(max_blob_size: u64) -> TestApp {
    start_configured(max_blob_size, 2, 8).await
}

async fn start_configured(max_blob_size: u64, workers: usize, queue: usize) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("compressor");
    let config = Config {
        host: "127.0.0.1".into(),
        port: 0,
        database_url: format!("sqlite://{}", data_dir.join("index.db").display()),
        data_dir,
        token: Some(TOKEN.into()),
        zstd_level: 7,
        deflate_zstd_level: 12,
        memory_budget: 128 << 20,
        max_blob_size,
        workers,
        queue,
    };
    let running = app::start(config).await.unwrap();
    TestApp {
        running,
        client: Client::new(),
        dir,
    }
}

async fn start() -> TestApp {
    start_with(1 << 40).await
}

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn text(len: usize) -> Vec<u8> {
    b"Photos, videos, music and documents. "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

impl TestApp {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.running.addr, path)
    }

    fn blob_path(&self, id: &str) -> PathBuf {
        self.dir
            .path()
            .join("compressor/blobs")
            .join(&id[0..2])
            .join(&id[2..4])
            .join(id)
    }

    async fn put(&self, id: &str, data: Vec<u8>) -> Response {
        self.client
            .put(self.url(&format!("/v1/blobs/{id}")))
            .bearer_auth(TOKEN)
            .body(data)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, id: &str, range: Option<&str>) -> Response {
        let mut request = self
            .client
            .get(self.url(&format!("/v1/blobs/{id}")))
            .bearer_auth(TOKEN);
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        request.send().await.unwrap()
    }

    async fn delete(&self, id: &str) -> Response {
        self.client
            .delete(self.url(&format!("/v1/blobs/{id}")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        json(response).await
    }
}

async fn json(response: Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// Asserts a problem+json answer with `status` and `code`.
async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = json(response).await;
    assert_eq!(body["code"], code);
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["detail"].is_string());
    assert_eq!(body["type"], format!("urn:trove:problem:{code}"));
    body
}

#[tokio::test]
async fn put_stores_once_and_get_returns_the_same_bytes() {
    let app = start().await;
    let data = text(3 << 20);
    let id = sha(&data);
    let response = app.put(&id, data.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let first = json(response).await;
    assert_eq!(first["sha256"], id.as_str());
    assert_eq!(first["size"], data.len() as u64);
    assert_eq!(first["codec"], "zstd");
    let stored_size = first["stored_size"].as_u64().unwrap();
    assert!(stored_size < data.len() as u64 / 20);

    let again = app.put(&id, data.clone()).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(json(again).await, first);

    let response = app.get(&id, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers();
    assert_eq!(h["content-length"], data.len().to_string().as_str());
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["x-trove-codec"], "zstd");
    assert_eq!(h["x-trove-stored-size"], stored_size.to_string().as_str());
    assert_eq!(response.bytes().await.unwrap(), data);
    assert_eq!(
        std::fs::metadata(app.blob_path(&id)).unwrap().len(),
        stored_size
    );
}

#[tokio::test]
async fn incompressible_and_empty_blobs_are_stored_raw() {
    let app = start().await;
    for data in [noise(1 << 20), Vec::new()] {
        let id = sha(&data);
        let response = app.put(&id, data.clone()).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let info = json(response).await;
        assert_eq!(info["codec"], "raw");
        assert_eq!(info["stored_size"], data.len() as u64);
        let response = app.get(&id, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.bytes().await.unwrap(), data);
    }
    let empty = sha(b"");
    assert_problem(
        app.get(&empty, Some("bytes=0-")).await,
        416,
        "range_not_satisfiable",
    )
    .await;
}

#[tokio::test]
async fn wrong_hash_is_rejected_and_nothing_is_kept() {
    let app = start().await;
    let id = sha(b"what the client meant");
    let body = assert_problem(
        app.put(&id, b"what arrived".to_vec()).await,
        422,
        "hash_mismatch",
    )
    .await;
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains(&sha(b"what arrived")));
    assert_problem(app.get(&id, None).await, 404, "blob_not_found").await;
    assert!(!app.blob_path(&id).exists());
    let tmp = app.dir.path().join("compressor/tmp");
    assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
    assert_eq!(app.json("/v1/stats").await["blobs"], 0);
}

#[tokio::test]
async fn ranges_head_and_delete() {
    let app = start().await;
    let data = text(100_000);
    let id = sha(&data);
    assert_eq!(
        app.put(&id, data.clone()).await.status(),
        StatusCode::CREATED
    );

    for (range, start, end) in [
        ("bytes=0-9", 0, 10),
        ("bytes=99990-", 99_990, 100_000),
        ("bytes=-5", 99_995, 100_000),
        ("bytes=500-99999999", 500, 100_000),
    ] {
        let response = app.get(&id, Some(range)).await;
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            response.headers()["content-range"],
            format!("bytes {}-{}/100000", start, end - 1).as_str()
        );
        assert_eq!(
            response.headers()["content-length"],
            (end - start).to_string().as_str()
        );
        assert_eq!(response.bytes().await.unwrap(), &data[start..end]);
    }
    let response = app.get(&id, Some("bytes=100000-")).await;
    assert_eq!(response.headers()["content-range"], "bytes */100000");
    assert_problem(response, 416, "range_not_satisfiable").await;

    let head = app
        .client
        .head(app.url(&format!("/v1/blobs/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "100000");
    assert_eq!(head.headers()["x-trove-codec"], "zstd");
    assert!(head.bytes().await.unwrap().is_empty());

    assert_eq!(app.delete(&id).await.status(), StatusCode::NO_CONTENT);
    assert!(!app.blob_path(&id).exists());
    assert_problem(app.get(&id, None).await, 404, "blob_not_found").await;
    assert_eq!(app.delete(&id).await.status(), StatusCode::NO_CONTENT);
    // Stored again after deletion: a new blob.
    assert_eq!(app.put(&id, data).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn token_is_required_on_v1_only() {
    let app = start().await;
    let stats = app.url("/v1/stats");
    let missing = app.client.get(&stats).send().await.unwrap();
    assert_problem(missing, 401, "unauthorized").await;
    let wrong = app
        .client
        .get(&stats)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_problem(wrong, 401, "unauthorized").await;
    let prefix = app
        .client
        .get(&stats)
        .bearer_auth(&TOKEN[..5])
        .send()
        .await
        .unwrap();
    assert_problem(prefix, 401, "unauthorized").await;
    let basic = app
        .client
        .get(&stats)
        .header("Authorization", format!("Basic {TOKEN}"));
    assert_problem(basic.send().await.unwrap(), 401, "unauthorized").await;
    let lower = app
        .client
        .get(&stats)
        .header("Authorization", format!("bearer {TOKEN}"));
    assert_eq!(lower.send().await.unwrap().status(), StatusCode::OK);
    let id = sha(b"x");
    let put = app
        .client
        .put(app.url(&format!("/v1/blobs/{id}")))
        .body("x")
        .send();
    assert_problem(put.await.unwrap(), 401, "unauthorized").await;

    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(json(health).await, serde_json::json!({"status": "ok"}));
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(json(ready).await, serde_json::json!({"status": "ready"}));
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_bad_ids_are_problems() {
    let app = start().await;
    let nowhere = app.client.get(app.url("/nowhere")).send().await.unwrap();
    assert_problem(nowhere, 404, "not_found").await;
    let under_v1 = app
        .client
        .get(app.url("/v1/nope"))
        .bearer_auth(TOKEN)
        .send();
    assert_problem(under_v1.await.unwrap(), 404, "not_found").await;
    let id = sha(b"x");
    let post = app
        .client
        .post(app.url(&format!("/v1/blobs/{id}")))
        .bearer_auth(TOKEN)
        .send();
    assert_problem(post.await.unwrap(), 405, "method_not_allowed").await;
    let delete_health = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_problem(delete_health, 405, "method_not_allowed").await;
    for bad in ["abc", &id.to_uppercase(), &format!("{id}00")] {
        assert_problem(app.put(bad, b"x".to_vec()).await, 400, "invalid_blob_id").await;
        assert_problem(app.get(bad, None).await, 400, "invalid_blob_id").await;
        assert_problem(app.delete(bad).await, 400, "invalid_blob_id").await;
    }
}

#[tokio::test]
async fn concurrent_puts_of_one_blob_store_it_once() {
    let app = start().await;
    let data = text(2 << 20);
    let id = sha(&data);
    let puts = (0..6).map(|_| app.put(&id, data.clone()));
    let responses = futures_util::future::join_all(puts).await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 201]);
    for response in responses {
        assert_eq!(json(response).await["codec"], "zstd");
    }
    let stats = app.json("/v1/stats").await;
    assert_eq!(stats["blobs"], 1);
    assert_eq!(app.get(&id, None).await.bytes().await.unwrap(), data);
}

fn flip_byte(path: &std::path::Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn corrupt_blobs_are_never_served_as_good() {
    let app = start().await;
    // Small compressed blob: refused with a clean 500.
    let small = text(50_000);
    let small_id = sha(&small);
    assert_eq!(
        app.put(&small_id, small).await.status(),
        StatusCode::CREATED
    );
    // A byte of the compressed frame, before the frame table.
    flip_byte(&app.blob_path(&small_id), 20);
    assert_problem(app.get(&small_id, None).await, 500, "blob_corrupt").await;
    assert_problem(
        app.get(&small_id, Some("bytes=0-0")).await,
        500,
        "blob_corrupt",
    )
    .await;

    // Large raw blob damaged near its end: the body is cut off, never completed.
    let large = noise(6 << 20);
    let large_id = sha(&large);
    assert_eq!(
        app.put(&large_id, large).await.status(),
        StatusCode::CREATED
    );
    flip_byte(&app.blob_path(&large_id), (6 << 20) - 10);
    let response = app.get(&large_id, None).await;
    assert!(
        response.bytes().await.is_err(),
        "a corrupt body must not complete"
    );

    // A range far from the damage is served from the intact frames alone; one that covers
    // the damaged frame is refused before any byte.
    let response = app.get(&large_id, Some("bytes=0-99")).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.bytes().await.unwrap().len(), 100);
    let damaged = format!("bytes={}-{}", (6 << 20) - 20, (6 << 20) - 1);
    assert_problem(
        app.get(&large_id, Some(&damaged)).await,
        500,
        "blob_corrupt",
    )
    .await;

    // A missing stored file is corruption too.
    std::fs::remove_file(app.blob_path(&small_id)).unwrap();
    assert_problem(app.get(&small_id, None).await, 500, "blob_corrupt").await;

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("trove_compressor_corrupt_reads_total 5"),
        "{text}"
    );
}

#[tokio::test]
async fn stats_and_metrics_count_per_codec() {
    let app = start().await;
    let empty = app.json("/v1/stats").await;
    let zero = serde_json::json!({"blobs": 0, "original_bytes": 0, "stored_bytes": 0});
    let codecs: serde_json::Map<String, Value> = [
        "lepton",
        "preflate-png",
        "preflate-zip",
        "preflate-gzip",
        "preflate-pdf",
        "zstd",
        "raw",
    ]
    .into_iter()
    .map(|name| (name.to_string(), zero.clone()))
    .collect();
    assert_eq!(
        empty,
        serde_json::json!({"blobs": 0, "original_bytes": 0, "stored_bytes": 0, "codecs": codecs})
    );
    let compressible = text(200_000);
    let random = noise(100_000);
    let z = json(app.put(&sha(&compressible), compressible).await).await;
    assert_eq!(
        app.put(&sha(&random), random).await.status(),
        StatusCode::CREATED
    );
    let stats = app.json("/v1/stats").await;
    let z_stored = z["stored_size"].as_u64().unwrap();
    assert_eq!(stats["blobs"], 2);
    assert_eq!(stats["original_bytes"], 300_000);
    assert_eq!(stats["stored_bytes"], z_stored + 100_000);
    assert_eq!(
        stats["codecs"]["zstd"],
        serde_json::json!({"blobs": 1, "original_bytes": 200_000, "stored_bytes": z_stored})
    );
    assert_eq!(
        stats["codecs"]["raw"],
        serde_json::json!({"blobs": 1, "original_bytes": 100_000, "stored_bytes": 100_000})
    );

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    for line in [
        "trove_compressor_blobs_stored_total{codec=\"zstd\"} 1",
        "trove_compressor_blobs_stored_total{codec=\"raw\"} 1",
        "trove_compressor_original_bytes_total 300000",
        "trove_compressor_codec_fallbacks_total{codec=\"zstd\",reason=\"incompressible\"} 1",
        "trove_compressor_requests_total{method=\"PUT\",status=\"201\"} 2",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
}

#[tokio::test]
async fn uploads_over_the_limit_are_refused() {
    let app = start_with(1000).await;
    let data = text(5000);
    let id = sha(&data);
    let response = app.put(&id, data).await;
    assert_problem(response, 413, "blob_too_large").await;
    assert!(!app.blob_path(&id).exists());
    let fits = text(1000);
    assert_eq!(
        app.put(&sha(&fits), fits).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn shutdown_is_graceful() {
    let app = start().await;
    let addr = app.running.addr;
    app.running.stop().await.unwrap();
    assert!(Client::new()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .is_err());
}

#[tokio::test]
async fn readiness_fails_when_the_store_is_unwritable() {
    let app = start().await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    std::fs::remove_dir_all(app.dir.path().join("compressor/blobs")).unwrap();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    let body = assert_problem(ready, 503, "not_ready").await;
    assert!(body["detail"].as_str().unwrap().contains("blob store"));
}

#[tokio::test]
async fn large_blobs_serve_ranges_from_their_frames() {
    let app = start().await;
    let frame = trove_compressor::frames::FRAME_SIZE;
    let data = text(2 * frame + 12_345);
    let id = sha(&data);
    assert_eq!(
        app.put(&id, data.clone()).await.status(),
        StatusCode::CREATED
    );
    // Damage the first frame: a range in the last frame does not decode from the start, so it
    // is still served, while one in the first frame is refused.
    flip_byte(&app.blob_path(&id), 20);
    let (start, end) = (2 * frame + 5, 2 * frame + 12_000);
    let response = app
        .get(&id, Some(&format!("bytes={start}-{}", end - 1)))
        .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.bytes().await.unwrap(), &data[start..end]);
    assert_problem(app.get(&id, Some("bytes=10-20")).await, 500, "blob_corrupt").await;
    let whole = app.get(&id, None).await;
    assert!(whole.status() != StatusCode::OK || whole.bytes().await.is_err());
}

#[tokio::test]
async fn a_full_queue_answers_busy_with_retry_after() {
    use tokio::io::AsyncWriteExt;
    let app = start_configured(1 << 40, 1, 0).await;
    // An upload that never finishes holds the only place.
    let mut slow = tokio::net::TcpStream::connect(app.running.addr)
        .await
        .unwrap();
    let id = "ab".repeat(32);
    let head = format!(
        "PUT /v1/blobs/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 1000\r\n\r\npartial"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    // Let it take the place before anything else competes for it.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut attempt = 0;
    let busy = loop {
        // New content each time: until the slow upload holds the place, these are stored.
        attempt += 1;
        let data = format!("attempt {attempt}").into_bytes();
        let response = app.put(&sha(&data), data).await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            break response;
        }
        assert!(std::time::Instant::now() < deadline, "never busy");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(busy.headers()["retry-after"], "5");
    assert_problem(busy, 503, "busy").await;
    drop(slow);
    // Once the place is free again, the upload goes through.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let data = text(1000);
    loop {
        let status = app.put(&sha(&data), data.clone()).await.status();
        if status == StatusCode::CREATED {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still busy: {status}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Runs `trove-compressor scrub` on the app's data; returns its exit code and standard output.
async fn scrub(app: &TestApp) -> (i32, String) {
    let data_dir = app.dir.path().join("compressor");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_trove-compressor"))
            .arg("scrub")
            .env_clear()
            .env("COMPRESSOR_DATA_DIR", &data_dir)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[tokio::test]
async fn scrub_and_get_detect_a_flipped_byte() {
    let app = start().await;
    let compressible = text(300_000);
    let random = noise(50_000);
    for data in [&compressible, &random] {
        assert_eq!(
            app.put(&sha(data), data.clone()).await.status(),
            StatusCode::CREATED
        );
    }
    let (code, out) = scrub(&app).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 blobs checked, 0 corrupt"), "{out}");

    let damaged = sha(&random);
    flip_byte(&app.blob_path(&damaged), 100);
    let (code, out) = scrub(&app).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("corrupt {damaged} (raw 2)")), "{out}");
    assert!(out.contains("2 blobs checked, 1 corrupt"), "{out}");
    assert_problem(app.get(&damaged, None).await, 500, "blob_corrupt").await;
    let intact = app.get(&sha(&compressible), None).await;
    assert_eq!(intact.bytes().await.unwrap(), compressible);
}
