//! The served OpenAPI document is checked by a real validator (openapi-spec-validator, from
//! PyPI, which scripts/test installs), so client generators and fuzzers can rely on it.

use std::process::Command;

use crate::support::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_openapi_document_is_valid_openapi_3_1() {
    let t = spawn_app().await;
    let reply = t.req("GET", "/api/v1/openapi.json", None, &[], None).await;
    assert_eq!(reply.status, 200);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &reply.body).expect("write the document");

    // The same `python3` that scripts/test installs the validator into.
    let out = Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
        .args(["--validation-errors", "all"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); run scripts/test"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named openapi_spec_validator"),
        "openapi-spec-validator is not installed: run scripts/test, or \
         `python3 -m pip install openapi-spec-validator`"
    );
    assert!(
        out.status.success(),
        "the OpenAPI document is not valid:\n{stdout}{stderr}"
    );
    assert!(stdout.contains(": OK"), "{stdout}{stderr}");
}
