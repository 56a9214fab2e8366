//! Finding a hall hub on the local network: DNS-SD over multicast DNS
//! (`mdns-sd`), with a manual address as the fallback. A hub advertises
//! `_checkin-hub._tcp.local.` with its event id in the TXT record; a desk
//! browses for it and keeps the hubs of its own event in a [`HubDirectory`]
//! that the sync task reads before every round.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;

use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent, ServiceInfo};
use tokio::sync::watch;
use uuid::Uuid;

/// The DNS-SD service type hubs advertise.
pub const SERVICE_TYPE: &str = "_checkin-hub._tcp.local.";

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("multicast DNS failed: {0}; give the hub's address by hand (e.g. `--hub https://10.0.0.7:8788`)")]
    Mdns(#[from] mdns_sd::Error),
}

/// Where multicast DNS runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdnsOptions {
    /// UDP port: 5353 in the field; tests use another one.
    pub port: u16,
    /// Only 127.0.0.1 (tests: nothing leaves the machine).
    pub loopback_only: bool,
}

impl Default for MdnsOptions {
    fn default() -> Self {
        MdnsOptions {
            port: 5353,
            loopback_only: false,
        }
    }
}

impl MdnsOptions {
    /// From `CHECKIN_MDNS`: unset or `on` the defaults, `loopback` this
    /// machine only, `off` no mDNS at all (`None`; tests that must not
    /// send multicast to the network set it).
    pub fn from_env() -> Option<MdnsOptions> {
        match std::env::var("CHECKIN_MDNS").unwrap_or_default().trim() {
            "off" | "0" | "no" => None,
            "loopback" => Some(MdnsOptions {
                loopback_only: true,
                ..MdnsOptions::default()
            }),
            _ => Some(MdnsOptions::default()),
        }
    }
}

fn daemon(opts: MdnsOptions) -> Result<ServiceDaemon, DiscoveryError> {
    let d = ServiceDaemon::new_with_port(opts.port)?;
    if opts.loopback_only {
        d.disable_interface(IfKind::All)?;
        d.enable_interface(IfKind::LoopbackV4)?;
    }
    Ok(d)
}

/// The hubs a desk may sync through: an address set by hand (tried first)
/// and those found on the network. Every change bumps a watch counter so
/// the sync task can react at once.
#[derive(Debug)]
pub struct HubDirectory {
    manual: Mutex<Option<String>>,
    found: Mutex<BTreeMap<String, String>>,
    version: watch::Sender<u64>,
    /// Addresses where something announced itself as a hub of this event
    /// without a key a coordinator authorised: ignored, shown in
    /// Diagnostics.
    unknown: Mutex<BTreeMap<String, i64>>,
}

impl Default for HubDirectory {
    fn default() -> Self {
        HubDirectory {
            manual: Mutex::new(None),
            found: Mutex::new(BTreeMap::new()),
            version: watch::channel(0).0,
            unknown: Mutex::new(BTreeMap::new()),
        }
    }
}

impl HubDirectory {
    pub fn with_manual(url: Option<String>) -> HubDirectory {
        let d = HubDirectory::default();
        d.set_manual(url);
        d
    }

    /// Set (or clear) the hub address given by hand.
    pub fn set_manual(&self, url: Option<String>) {
        let url = url.map(|u| normalise_url(&u)).filter(|u| !u.is_empty());
        *self.manual.lock().unwrap_or_else(|p| p.into_inner()) = url;
        self.version.send_modify(|v| *v += 1);
    }

    /// Note that the hub announced at `url` was ignored (its key is not
    /// one a coordinator authorised).
    pub fn note_unknown(&self, url: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        self.unknown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.to_string(), now);
    }

    /// Unknown hubs that announced themselves, with when they were last
    /// seen (ms): "an unknown hub announced itself at … and was ignored".
    pub fn unknown(&self) -> Vec<(String, i64)> {
        self.unknown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(u, t)| (u.clone(), *t))
            .collect()
    }

    pub fn manual(&self) -> Option<String> {
        self.manual.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Hub addresses to try, the manual one first.
    pub fn candidates(&self) -> Vec<String> {
        let mut out: Vec<String> = self.manual().into_iter().collect();
        for url in self.found.lock().unwrap_or_else(|p| p.into_inner()).values() {
            if !out.contains(url) {
                out.push(url.clone());
            }
        }
        out
    }

    /// A hub was found (or its address changed).
    pub fn found(&self, name: &str, url: &str) {
        let mut f = self.found.lock().unwrap_or_else(|p| p.into_inner());
        if f.get(name).map(String::as_str) != Some(url) {
            f.insert(name.to_string(), url.to_string());
            drop(f);
            self.version.send_modify(|v| *v += 1);
        }
    }

    /// A hub said goodbye.
    pub fn removed(&self, name: &str) {
        if self
            .found
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .is_some()
        {
            self.version.send_modify(|v| *v += 1);
        }
    }

    /// Changes whenever the candidates may have changed.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}

/// A hub's address: `10.0.0.7:8788` or `http://10.0.0.7:8788` →
/// `https://10.0.0.7:8788` (a hub speaks only TLS); no trailing slash.
pub fn normalise_url(s: &str) -> String {
    let s = s.trim().trim_end_matches('/');
    if s.is_empty() {
        s.to_string()
    } else if let Some(rest) = s.strip_prefix("http://") {
        format!("https://{rest}")
    } else if s.contains("://") {
        s.to_string()
    } else {
        format!("https://{s}")
    }
}

/// A hub's announcement; stops when dropped.
pub struct Advertisement {
    daemon: ServiceDaemon,
    fullname: String,
}

impl Advertisement {
    pub fn fullname(&self) -> &str {
        &self.fullname
    }
}

impl Drop for Advertisement {
    fn drop(&mut self) {
        let _ = self.daemon.unregister(&self.fullname);
        let _ = self.daemon.shutdown();
    }
}

/// Announce a hub for `event_id` listening on `port`. With no `addrs` the
/// machine's own addresses are announced.
pub fn advertise(
    opts: MdnsOptions,
    instance: &str,
    event_id: Uuid,
    port: u16,
    addrs: &[IpAddr],
) -> Result<Advertisement, DiscoveryError> {
    let daemon = daemon(opts)?;
    let host = format!("checkin-hub-{}.local.", &format!("{:08x}", rand::random::<u32>()));
    let props: std::collections::HashMap<String, String> = [
        ("event".to_string(), event_id.to_string()),
        ("proto".to_string(), crate::protocol::PROTOCOL_VERSION.to_string()),
    ]
    .into();
    let info = if addrs.is_empty() {
        ServiceInfo::new(SERVICE_TYPE, instance, &host, "", port, props)?.enable_addr_auto()
    } else {
        ServiceInfo::new(SERVICE_TYPE, instance, &host, addrs, port, props)?
    };
    let fullname = info.get_fullname().to_string();
    daemon.register(info)?;
    Ok(Advertisement { daemon, fullname })
}

/// Browsing for hubs; stops when dropped.
pub struct Browser {
    daemon: ServiceDaemon,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.daemon.stop_browse(SERVICE_TYPE);
        let _ = self.daemon.shutdown();
    }
}

/// Look for hubs of `event_id` and keep `directory` up to date (on a
/// thread of its own: no async runtime needed).
pub fn browse(
    opts: MdnsOptions,
    event_id: Uuid,
    directory: std::sync::Arc<HubDirectory>,
) -> Result<Browser, DiscoveryError> {
    let daemon = daemon(opts)?;
    let rx = daemon.browse(SERVICE_TYPE)?;
    let event = event_id.to_string();
    std::thread::Builder::new()
        .name("hub-discovery".into())
        .spawn(move || {
            while let Ok(ev) = rx.recv() {
                match ev {
                    ServiceEvent::ServiceResolved(s) => {
                        if s.txt_properties.get_property_val_str("event") != Some(event.as_str()) {
                            continue;
                        }
                        let mut addrs: Vec<IpAddr> = s.addresses.iter().map(|a| a.to_ip_addr()).collect();
                        // IPv4 first, then the lowest address: a stable choice.
                        addrs.sort_by_key(|a| (!a.is_ipv4(), *a));
                        if let Some(ip) = addrs.first() {
                            let url = match ip {
                                IpAddr::V4(v4) => format!("https://{v4}:{}", s.port),
                                IpAddr::V6(v6) => format!("https://[{v6}]:{}", s.port),
                            };
                            directory.found(&s.fullname, &url);
                        }
                    }
                    ServiceEvent::ServiceRemoved(_, fullname) => directory.removed(&fullname),
                    _ => {}
                }
            }
        })
        .map_err(|e| DiscoveryError::Mdns(mdns_sd::Error::Msg(e.to_string())))?;
    Ok(Browser { daemon })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_hub_comes_first_and_changes_are_signalled() {
        let d = HubDirectory::default();
        let mut w = d.watch();
        assert!(d.candidates().is_empty());
        d.found("a._checkin-hub._tcp.local.", "https://10.0.0.7:8788");
        assert!(w.has_changed().unwrap());
        w.borrow_and_update();
        d.set_manual(Some("10.0.0.9:8788/".into()));
        assert_eq!(
            d.candidates(),
            vec![
                "https://10.0.0.9:8788".to_string(),
                "https://10.0.0.7:8788".to_string()
            ]
        );
        assert!(w.has_changed().unwrap());
        w.borrow_and_update();
        // The same address again is no change.
        d.found("a._checkin-hub._tcp.local.", "https://10.0.0.7:8788");
        assert!(!w.has_changed().unwrap());
        d.removed("a._checkin-hub._tcp.local.");
        assert_eq!(d.candidates(), vec!["https://10.0.0.9:8788".to_string()]);
        d.set_manual(None);
        assert!(d.candidates().is_empty());
    }
}
