//! A sync server on a SQLite file at a given address, for tests that kill it
//! with SIGKILL and start it again: `checkin-test-server DB ADDR`. Prints
//! `READY <url>` once it listens.

use std::sync::Arc;

fn main() {
    let mut args = std::env::args().skip(1);
    let db = args.next().expect("usage: checkin-test-server DB ADDR");
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let storage =
            Arc::new(checkin_server::storage::sqlite::SqliteStorage::open(db.as_ref()).expect("open"));
        let server = checkin_server::Server::bind(storage, &addr, None)
            .await
            .expect("bind");
        if let Ok(Some(code)) = server.bootstrap_code().await {
            println!("BOOTSTRAP {}", code.code);
        }
        println!("READY http://{}", server.addr);
        server.run().await.expect("serve");
    });
}
