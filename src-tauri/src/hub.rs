//! The hall hub a coordinator desk can run, and the hub address any paired
//! desk may be given by hand. Thin: the hub itself is
//! `checkin_server::hub` (the server's router over a SQLite file, relaying
//! to the central server); this starts and stops it, remembers the choice in
//! the settings and reports its status to the UI (`hub` events).

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use checkin_server::hub::{Hub, HubConfig, HubError, HubStatus};
use checkin_sync::discovery::MdnsOptions;
use checkin_sync::protocol::Role;

use crate::{CmdError, CmdResult, Desk};

/// The port a hub listens on unless the coordinator picks another.
pub const DEFAULT_PORT: u16 = 8788;

/// What the Devices pane shows about the hall hub.
#[derive(Debug, Clone, Serialize)]
pub struct HubView {
    /// This desk may run the hub: it is paired as a coordinator.
    pub available: bool,
    pub running: bool,
    /// The port it listens (or will listen) on.
    pub port: u16,
    /// Addresses other desks can be given by hand (this machine's network
    /// addresses with the port); mDNS finds the hub without them.
    pub addresses: Vec<String>,
    /// Announced by mDNS (off when `CHECKIN_MDNS=off`).
    pub announced: bool,
    pub status: Option<HubStatus>,
    /// The hub address given by hand at this desk, if any.
    pub manual: Option<String>,
}

impl From<HubError> for CmdError {
    fn from(e: HubError) -> Self {
        CmdError::new("hub", e.to_string())
    }
}

fn not_paired() -> CmdError {
    CmdError::new(
        "not_paired",
        "this desk is not connected to a server: join an event first",
    )
}

/// The hub's view as the UI shows it.
pub async fn view(desk: &Desk) -> HubView {
    let handle = desk.sync_handle();
    let available = handle
        .as_ref()
        .is_some_and(|h| h.desk.pairing.role == Role::Coordinator);
    let manual = handle.as_ref().and_then(|h| h.desk.hubs.manual());
    let hub = desk.hub.lock().await;
    let port = match hub.as_ref() {
        Some(h) => h.addr.port(),
        None => desk.settings.lock().map(|s| s.hub_port).unwrap_or(DEFAULT_PORT),
    };
    HubView {
        available,
        running: hub.is_some(),
        port,
        addresses: hub.as_ref().map(|_| lan_addresses(port)).unwrap_or_default(),
        announced: hub.as_ref().is_some_and(Hub::announced),
        status: hub.as_ref().map(|h| h.status.borrow().clone()),
        manual,
    }
}

/// This machine's IPv4 network addresses (not loopback), with the port.
fn lan_addresses(port: u16) -> Vec<String> {
    let mut out: Vec<String> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i.is_loopback() && i.ip().is_ipv4())
        .map(|i| format!("{}:{port}", i.ip()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Start the hub on this coordinator desk (nothing if it runs already).
pub async fn start<R: Runtime>(app: &AppHandle<R>, desk: &Desk, port: u16) -> CmdResult<()> {
    let handle = desk.sync_handle().ok_or_else(not_paired)?;
    let pairing = &handle.desk.pairing;
    if pairing.role != Role::Coordinator {
        return Err(CmdError::new(
            "forbidden",
            "only a desk paired as coordinator can run the hall's hub: pair one with a coordinator code",
        ));
    }
    let mut slot = desk.hub.lock().await;
    if slot.is_some() {
        return Ok(());
    }
    let name = desk.store()?.device().name.clone();
    let hub = Hub::start(HubConfig {
        upstream: pairing.server.clone(),
        token: pairing.token.clone(),
        upstream_fp: pairing.server_fp.clone(),
        event_id: pairing.event_id,
        listen: format!("0.0.0.0:{port}"),
        data: desk.options.data_dir.join(format!("hub-{}.db", pairing.event_id)),
        public_url: None,
        mdns: MdnsOptions::from_env().map(|o| (o, name.clone())),
    })
    .await?;
    // The event authorises the hub: its key goes into the change log and to
    // the central server, and from there to every desk, which talks to the
    // hub only once it has it.
    handle
        .desk
        .authorise_hub(hub.hub_id, &hub.secret(), &hub.tls_fingerprint, &name, true)
        .await?;
    // Every status change (upstream online, counts) reaches the UI.
    let mut status = hub.status.clone();
    let a = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let s = status.borrow_and_update().clone();
            let _ = a.emit("hub", s);
            if status.changed().await.is_err() {
                break;
            }
        }
    });
    *slot = Some(hub);
    Ok(())
}

/// Start the hub again at app start when the coordinator left it running.
pub fn resume<R: Runtime>(app: &AppHandle<R>) {
    let a = app.clone();
    tauri::async_runtime::spawn(async move {
        let desk = a.state::<Desk>();
        let (wanted, port) = desk
            .settings
            .lock()
            .map(|s| (s.hub, s.hub_port))
            .unwrap_or((false, DEFAULT_PORT));
        if wanted && let Err(e) = start(&a, &desk, port).await {
            eprintln!("checkin-app: hall hub not started: {}", e.message);
        }
    });
}

fn remember(desk: &Desk, running: bool, port: u16) -> CmdResult<()> {
    let mut s = desk
        .settings
        .lock()
        .map_err(|_| CmdError::new("internal", "settings unavailable; restart the app"))?;
    s.hub = running;
    s.hub_port = port;
    s.save(&desk.options.config_dir)?;
    Ok(())
}

/// The hall hub's state for the Devices pane.
#[tauri::command]
pub async fn hub_state(desk: State<'_, Desk>) -> CmdResult<HubView> {
    Ok(view(&desk).await)
}

/// Run this coordinator desk as the hall's hub (port: default 8788); it
/// starts again with the app until stopped.
#[tauri::command]
pub async fn start_hub<R: Runtime>(
    app: AppHandle<R>,
    desk: State<'_, Desk>,
    port: Option<u16>,
) -> CmdResult<HubView> {
    let port = port.unwrap_or(DEFAULT_PORT);
    start(&app, &desk, port).await?;
    remember(&desk, true, port)?;
    Ok(view(&desk).await)
}

/// Stop the hub (its database keeps everything; desks fall back to the
/// central server by themselves).
#[tauri::command]
pub async fn stop_hub(desk: State<'_, Desk>) -> CmdResult<HubView> {
    let hub = desk.hub.lock().await.take();
    let port = match hub {
        Some(h) => {
            let port = h.addr.port();
            // Stopped for good (not resumed at start): the key is withdrawn,
            // so no desk trusts it any longer.
            if let Some(handle) = desk.sync_handle() {
                let name = desk.store()?.device().name.clone();
                handle
                    .desk
                    .authorise_hub(h.hub_id, &h.secret(), &h.tls_fingerprint, &name, false)
                    .await?;
            }
            h.shutdown().await;
            port
        }
        None => desk.settings.lock().map(|s| s.hub_port).unwrap_or(DEFAULT_PORT),
    };
    remember(&desk, false, port)?;
    Ok(view(&desk).await)
}

/// Give this desk the hall hub's address by hand (`None` or blank forgets
/// it); mDNS finds hubs without it. Kept in the desk's database.
#[tauri::command]
pub async fn set_hub_address(desk: State<'_, Desk>, address: Option<String>) -> CmdResult<HubView> {
    let handle = desk.sync_handle().ok_or_else(not_paired)?;
    let address = address.map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
    if let Some(a) = &address {
        let url = checkin_sync::discovery::normalise_url(a);
        let ok = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .is_some_and(|rest| {
                let host = rest.split('/').next().unwrap_or("");
                !host.is_empty() && !host.contains(char::is_whitespace)
            });
        if !ok {
            return Err(CmdError::new(
                "invalid",
                format!("{a:?} is not a hub address: type it as the hub shows it, e.g. 192.168.1.20:8788"),
            ));
        }
    }
    handle.desk.set_manual_hub(address.as_deref())?;
    handle.kick();
    Ok(view(&desk).await)
}
