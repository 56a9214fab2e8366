//! The CLI's network commands: `serve`, `pair`, `sync`, `pairing-code`,
//! `devices`. Everything here delegates to `checkin-server` and
//! `checkin-sync`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::json;
use uuid::Uuid;

use checkin_core::store::Store;
use checkin_sync::client::{Desk, Pairing};
use checkin_sync::protocol::{PairingCodeRequest, Role, parse_pairing_uri};

use crate::out::print;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: String,
    /// PostgreSQL instead of the embedded SQLite file, e.g.
    /// postgres://checkin:secret@db/checkin. Several servers may share it.
    #[arg(long, env = "CHECKIN_DATABASE_URL")]
    database_url: Option<String>,
    /// The SQLite file (used without --database-url).
    #[arg(long, env = "CHECKIN_SERVER_DB", default_value = "checkin-server.db")]
    data: PathBuf,
    /// The address desks reach this server at (goes into pairing QR codes);
    /// defaults to https://<listen address>.
    #[arg(long, env = "CHECKIN_PUBLIC_URL")]
    public_url: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM, e.g. from a certificate
    /// authority); needs --tls-key. Without it the server makes its own
    /// certificate (in --tls-dir) and pairing links carry its fingerprint.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Where the server keeps the certificate it makes itself (default:
    /// beside the SQLite file, `<data>.tls/`).
    #[arg(long, env = "CHECKIN_TLS_DIR")]
    tls_dir: Option<PathBuf>,
    /// Serve plain HTTP. For tests only: desks refuse to send their token
    /// over plain HTTP to anything but this machine.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    insecure_http: bool,
}

#[derive(Args)]
pub struct PairArgs {
    /// The pairing QR's text (checkin://pair?server=…&code=…), or the server
    /// address followed by the code.
    target: String,
    code: Option<String>,
}

#[derive(Args)]
pub struct SyncArgs {
    /// Keep syncing (push as changes appear, listen live) until Ctrl-C,
    /// through the hall's hub when there is one, else the central server.
    #[arg(long)]
    watch: bool,
    /// A hall hub's address to try before the central server (remembered
    /// in this desk's database; `--hub none` forgets it).
    #[arg(long)]
    hub: Option<String>,
    /// Do not look for hubs by mDNS (with --watch).
    #[arg(long)]
    no_mdns: bool,
}

#[derive(Args)]
pub struct HubArgs {
    /// Address desks reach the hub at (port 0: any free port).
    #[arg(long, default_value = "0.0.0.0:8788")]
    listen: String,
    /// The hub's own SQLite file (one per event).
    #[arg(long, default_value = "checkin-hub.db")]
    data: PathBuf,
    /// The address to announce, when not https://<listen address>.
    #[arg(long)]
    public_url: Option<String>,
    /// Do not announce the hub by mDNS (desks then need `sync --hub ADDRESS`).
    #[arg(long)]
    no_mdns: bool,
    /// The name announced on the network.
    #[arg(long, default_value = "Checkin hub")]
    name: String,
}

#[derive(Args)]
pub struct PairingCodeArgs {
    /// volunteer, host or coordinator.
    #[arg(long, default_value = "volunteer")]
    role: String,
    /// Minutes the code stays valid.
    #[arg(long, default_value_t = 30)]
    ttl_minutes: u32,
}

#[derive(Subcommand)]
pub enum DevicesCmd {
    /// The event's paired desks.
    List,
    /// Refuse a desk's token from now on, and (through the change log) the
    /// badges signed with its key that it had not logged as printed.
    Revoke {
        device: Uuid,
        /// Why (kept with the revocation, shown with refused badges).
        #[arg(long, default_value = "")]
        reason: String,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn serve(args: &ServeArgs) -> Result<()> {
    runtime()?.block_on(async {
        let storage = checkin_server::open_storage(args.database_url.as_deref(), &args.data)
            .await
            .context("opening the server's database")?;
        let scheme = if args.insecure_http { "http" } else { "https" };
        let server = checkin_server::Server::bind_scheme(storage, &args.listen, args.public_url.clone(), scheme)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        // The certificate this server makes itself, pinned by desks.
        let own = if args.insecure_http || args.tls_cert.is_some() {
            None
        } else {
            let dir = args
                .tls_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("{}.tls", args.data.display())));
            let host = server.addr.ip().to_string();
            let id = checkin_server::tls::Identity::load_or_create(&dir, &[host])?;
            let fp = id.fingerprint()?;
            server.state.set_tls_fingerprint(Some(fp.clone()));
            eprintln!(
                "TLS certificate: {} (made by this server; desks pin its fingerprint {fp})",
                dir.display()
            );
            Some(id)
        };
        if args.insecure_http {
            eprintln!(
                "WARNING: --insecure-http: plain HTTP, for tests only. Desks send their tokens to this server in clear, and desks on other machines refuse to."
            );
        }
        eprintln!("checkin server listening on {scheme}://{}", server.addr);
        match &args.database_url {
            Some(_) => eprintln!("storage: PostgreSQL"),
            None => eprintln!("storage: SQLite {}", args.data.display()),
        }
        if let Some(code) = server
            .bootstrap_code()
            .await
            .map_err(|e| anyhow!("{}", e.message))?
        {
            eprintln!(
                "no coordinator desk yet: on the coordinator's desk, create the event, then run\n  checkin pair '{}'\n(the code is valid for 24 hours and works once)",
                code.pairing_uri
            );
        }
        match (&args.tls_cert, &args.tls_key, own) {
            (Some(cert), Some(key), _) => server.run_tls(cert, key).await?,
            (_, _, Some(id)) => server.run_tls_identity(&id, true).await?,
            _ => server.run().await?,
        }
        Ok(())
    })
}

pub fn pair(store: Store, args: &PairArgs, j: bool) -> Result<()> {
    let (server, code, fp) = match (&args.code, parse_pairing_uri(&args.target)) {
        (None, Some(link)) => (link.server, link.code, link.fingerprint),
        (Some(code), _) => (args.target.clone(), code.clone(), None),
        (None, None) => {
            bail!("give the pairing QR's text (checkin://pair?…) or the server address and the code")
        }
    };
    let store = Arc::new(Mutex::new(store));
    let pairing = runtime()?.block_on(async {
        let pairing = checkin_sync::client::pair_desk_pinned(&store, &server, &code, fp.as_deref()).await?;
        // Upload what this desk already has (a coordinator's event) and fetch the rest.
        let desk = Desk::new(store.clone(), pairing.clone(), Arc::new(Utc::now))?;
        desk.sync_once().await?;
        Ok::<_, checkin_sync::SyncError>(pairing)
    })?;
    print(
        j,
        json!({"server": pairing.server, "role": pairing.role, "event_id": pairing.event_id}),
        || {
            format!(
                "paired with {} as {} for event {}",
                pairing.server,
                pairing.role.as_str(),
                pairing.event_id
            )
        },
    );
    Ok(())
}

fn paired(store: &Store) -> Result<Pairing> {
    Pairing::load(store)?.ok_or_else(|| {
        anyhow!("this desk is not paired with a server: run `checkin pair SERVER CODE` with a code from the coordinator")
    })
}

pub fn sync(store: Store, args: &SyncArgs, j: bool) -> Result<()> {
    let pairing = paired(&store)?;
    let event_id = pairing.event_id;
    let store = Arc::new(Mutex::new(store));
    let desk = Desk::new(store.clone(), pairing, Arc::new(Utc::now))?;
    if let Some(hub) = &args.hub {
        desk.set_manual_hub((hub != "none").then_some(hub.as_str()))?;
    }
    // Kept alive while syncing: finds hubs of this event on the network.
    let mdns = checkin_sync::discovery::MdnsOptions::from_env().filter(|_| args.watch && !args.no_mdns);
    let _browser = match mdns.map(|o| checkin_sync::discovery::browse(o, event_id, desk.hubs.clone())) {
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            eprintln!("{e}");
            None
        }
        None => None,
    };
    runtime()?.block_on(async {
        if !args.watch {
            let r = desk.sync_once().await?;
            let waiting = store
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .outbox_status()?
                .waiting;
            print(j, json!({"round": r, "waiting": waiting}), || {
                format!(
                    "pushed {}, pulled {} ({} new); {} waiting to upload",
                    r.pushed, r.pulled, r.applied, waiting
                )
            });
            return Ok(());
        }
        let mut handle = checkin_sync::spawn(desk)?;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                changed = handle.status.changed() => {
                    if changed.is_err() { break; }
                    let s = handle.status.borrow_and_update().clone();
                    print(j, json!(s), || format!(
                        "{:?} via {:?} {}: {} waiting{}",
                        s.connection,
                        s.route,
                        s.server,
                        s.waiting,
                        s.last_error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
                    ));
                }
            }
        }
        handle.shutdown().await;
        Ok(())
    })
}

/// The event's statistics from the server this desk is paired with.
pub fn server_stats(store: &Store, day: Option<&str>) -> Result<checkin_core::stats::Stats> {
    let pairing = paired(store)?;
    let client = pairing.client();
    Ok(runtime()?.block_on(client.stats(pairing.event_id, day))?)
}

/// `checkin hub`: run the hall's hub on this coordinator desk until Ctrl-C.
pub fn hub(store: Store, args: &HubArgs, j: bool) -> Result<()> {
    let pairing = paired(&store)?;
    if pairing.role != Role::Coordinator {
        bail!(
            "this desk is paired as {}: a hub runs on a coordinator desk (pair one with a coordinator code)",
            pairing.role.as_str()
        );
    }
    let store = Arc::new(std::sync::Mutex::new(store));
    let desk = checkin_sync::client::Desk::new(store, pairing.clone(), Arc::new(chrono::Utc::now))?;
    let cfg = checkin_server::hub::HubConfig {
        upstream: pairing.server.clone(),
        token: pairing.token.clone(),
        upstream_fp: pairing.server_fp.clone(),
        event_id: pairing.event_id,
        listen: args.listen.clone(),
        data: args.data.clone(),
        public_url: args.public_url.clone(),
        mdns: checkin_sync::discovery::MdnsOptions::from_env()
            .filter(|_| !args.no_mdns)
            .map(|o| (o, args.name.clone())),
    };
    runtime()?.block_on(async {
        let hub = checkin_server::hub::Hub::start(cfg).await?;
        // The event authorises the hub: its key goes to the central server
        // (now, or with the next push), and from there to every desk.
        desk.authorise_hub(hub.hub_id, &hub.secret(), &hub.tls_fingerprint, &args.name, true)
            .await?;
        eprintln!(
            "hub for event {} listening on {}; relaying to {}{}",
            pairing.event_id,
            hub.url,
            pairing.server,
            if hub.announced() {
                format!("; announced by mDNS as {:?}", args.name)
            } else {
                String::new()
            }
        );
        let mut status = hub.status.clone();
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                changed = status.changed() => {
                    if changed.is_err() { break; }
                    let s = status.borrow_and_update().clone();
                    print(j, json!(s), || format!(
                        "upstream {:?}: {} relayed, {} received, {} desks known{}",
                        s.upstream,
                        s.relayed,
                        s.received,
                        s.devices,
                        s.last_error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
                    ));
                }
            }
        }
        hub.shutdown().await;
        Ok(())
    })
}

pub fn pairing_code(store: Store, args: &PairingCodeArgs, j: bool) -> Result<()> {
    let pairing = paired(&store)?;
    let role = Role::parse(&args.role)
        .ok_or_else(|| anyhow!("unknown role {:?}: use volunteer, host or coordinator", args.role))?;
    let client = pairing.client();
    let code = runtime()?.block_on(client.create_pairing_code(&PairingCodeRequest {
        event_id: pairing.event_id,
        role,
        ttl_minutes: Some(args.ttl_minutes),
        device_id: None,
    }))?;
    print(j, json!(code), || {
        format!(
            "pairing code {} for a {} desk (valid {} min, works once)\n{}",
            code.code,
            role.as_str(),
            args.ttl_minutes,
            code.pairing_uri
        )
    });
    Ok(())
}

pub fn devices(store: Store, cmd: &DevicesCmd, j: bool) -> Result<()> {
    let pairing = paired(&store)?;
    let client = pairing.client();
    let store = Arc::new(Mutex::new(store));
    let rt = runtime()?;
    match cmd {
        DevicesCmd::List => {
            let list = rt.block_on(client.devices())?;
            print(j, json!(list), || {
                list.iter()
                    .map(|d| {
                        format!(
                            "{}  {:<12} {}{}{}",
                            d.id,
                            d.role.as_str(),
                            d.name,
                            if d.revoked { "  (revoked)" } else { "" },
                            if d.refused > 0 {
                                format!("  ({} refused changes: revoke it if this grows)", d.refused)
                            } else {
                                String::new()
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        DevicesCmd::Revoke { device, reason } => {
            let desk = Desk::new(store, pairing, Arc::new(Utc::now))?;
            let d = rt.block_on(desk.revoke_device(*device, reason))?;
            print(j, json!(d), || format!("revoked {} ({})", d.name, d.id));
        }
    }
    Ok(())
}
