//! Kill a process that is writing check-ins with SIGKILL, reopen its
//! database, and find every check-in it acknowledged.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use checkin_core::store::Store;
use chrono::Utc;
use uuid::Uuid;

fn kill_9(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn every_acknowledged_check_in_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let mut acked: Vec<Uuid> = Vec::new();
    // Several rounds: each round kills the writer at a different point.
    for (round, kill_after) in [150usize, 400, 37, 900].into_iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_checkin-writer"))
            .arg(&db)
            .arg("300")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the writer");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        assert_eq!(lines.next().unwrap().unwrap(), "READY");
        let mut this_round = 0;
        for line in lines.by_ref() {
            let line = line.unwrap();
            let id = line.strip_prefix("ACK ").expect("ACK line").parse().unwrap();
            acked.push(id);
            this_round += 1;
            if this_round == kill_after {
                kill_9(&child);
                break;
            }
        }
        // Lines already written before the kill landed are acknowledgements too.
        for line in lines.map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("ACK ") {
                acked.push(id.parse().unwrap());
            }
        }
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the writer must have been killed"
        );
    }

    let store = Store::open_local(&db, "checker", Utc::now()).unwrap();
    let mut missing = Vec::new();
    for id in &acked {
        if !store.checkin_exists(*id).unwrap() {
            missing.push(*id);
        }
    }
    assert!(
        acked.len() > 1000,
        "the writer acknowledged only {} check-ins",
        acked.len()
    );
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged check-ins lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    // The database is intact after the kills.
    assert!(store.integrity_ok().unwrap());
}
