//! A fault-injecting TCP proxy between desks and a server: delays, refused
//! connections, and connections cut in the middle of a reply.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct Faults {
    /// Per mille of new connections closed at once.
    pub drop_permille: AtomicU32,
    /// Per mille of replies cut after their first bytes.
    pub cut_permille: AtomicU32,
    /// Most milliseconds added before each forwarded chunk.
    pub max_delay_ms: AtomicU64,
    /// The next this many connections that get through are cut for sure
    /// (so a test sees cuts however few connections its clients open).
    pub cut_next: AtomicU32,
    /// Everything refused: the network is down.
    pub down: AtomicBool,
    /// Connections cut so far (for the test's report).
    pub cuts: AtomicU32,
    pub drops: AtomicU32,
    /// Bumped to cut every open connection (a link going down also breaks
    /// the long-lived live streams, not only new connections).
    epoch: tokio::sync::watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            drop_permille: AtomicU32::new(0),
            cut_permille: AtomicU32::new(0),
            max_delay_ms: AtomicU64::new(0),
            cut_next: AtomicU32::new(0),
            down: AtomicBool::new(false),
            cuts: AtomicU32::new(0),
            drops: AtomicU32::new(0),
            epoch: tokio::sync::watch::channel(0).0,
        }
    }
}

impl Faults {
    /// The link goes down (every open connection is cut, new ones refused)
    /// or comes back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
        if down {
            self.epoch.send_modify(|e| *e += 1);
        }
    }

    pub fn calm(&self) {
        self.drop_permille.store(0, Ordering::Relaxed);
        self.cut_permille.store(0, Ordering::Relaxed);
        self.cut_next.store(0, Ordering::Relaxed);
        self.max_delay_ms.store(0, Ordering::Relaxed);
        self.down.store(false, Ordering::Relaxed);
    }
}

pub struct Proxy {
    pub url: String,
    pub faults: Arc<Faults>,
}

impl Proxy {
    pub async fn start(target: &str) -> Proxy {
        // TCP underneath: TLS passes through untouched.
        let scheme = if target.starts_with("https://") {
            "https"
        } else {
            "http"
        };
        let target = target
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let faults = Arc::new(Faults::default());
        let f = faults.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let f = f.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let (drop, cut) = {
                        let mut rng = rand::rng();
                        (
                            f.down.load(Ordering::Relaxed)
                                || rng.random_range(0..1000) < f.drop_permille.load(Ordering::Relaxed),
                            rng.random_range(0..1000) < f.cut_permille.load(Ordering::Relaxed),
                        )
                    };
                    if drop {
                        f.drops.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    let cut = cut
                        || f.cut_next
                            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                            .is_ok();
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let mut epoch = f.epoch.subscribe();
                    if f.down.load(Ordering::Relaxed) {
                        return;
                    }
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let f1 = f.clone();
                    let up = tokio::spawn(async move {
                        let mut buf = vec![0u8; 16384];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            delay(&f1).await;
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    });
                    let mut buf = vec![0u8; 16384];
                    let mut forwarded = 0usize;
                    loop {
                        let n = tokio::select! {
                            r = sr.read(&mut buf) => match r {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            },
                            _ = epoch.changed() => break,
                        };
                        delay(&f).await;
                        if cut {
                            // Forward part of the reply, then cut: the server
                            // did the work, the desk never hears it.
                            let part = (n / 2).max(1);
                            let _ = cw.write_all(&buf[..part]).await;
                            f.cuts.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        forwarded += n;
                    }
                    let _ = forwarded;
                    up.abort();
                });
            }
        });
        Proxy { url, faults }
    }
}

async fn delay(f: &Faults) {
    let max = f.max_delay_ms.load(Ordering::Relaxed);
    if max > 0 {
        let ms = rand::rng().random_range(0..=max);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}
