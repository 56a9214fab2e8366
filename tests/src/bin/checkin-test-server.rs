//! A sync server at a given address, for tests that kill it with SIGKILL
//! and start it again: `checkin-test-server DB ADDR`, where DB is a SQLite
//! file or a `postgres://` URL. Prints `READY <url>` once it listens.

fn main() {
    let mut args = std::env::args().skip(1);
    let db = args.next().expect("usage: checkin-test-server DB ADDR");
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let url = db.starts_with("postgres://").then_some(db.as_str());
        let storage = checkin_server::open_storage(url, db.as_ref())
            .await
            .expect("open the storage");
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
