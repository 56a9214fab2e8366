//! Test helper for the crash test: records check-ins as fast as it can and
//! prints `ACK <checkin id>` after each one is acknowledged (the point where
//! a desk would paint ADMITTED). The test kills it with SIGKILL mid-stream.

use std::io::Write;

use checkin_core::engine::Verdict;
use checkin_core::model::{Direction, LocationKind};
use checkin_core::store::Store;
use chrono::Utc;

fn main() {
    let mut args = std::env::args().skip(1);
    let db = args.next().expect("usage: checkin-writer DB [ATTENDEES]");
    let n: usize = args.next().map(|s| s.parse().expect("a number")).unwrap_or(500);
    let now = Utc::now();
    let mut store = Store::open_local(db.as_ref(), "crash-writer", now).expect("open");
    if store.event().is_none() {
        checkin_core::demo::create_event(&mut store, n, now).expect("demo event");
    }
    let ids: Vec<_> = store
        .attendees()
        .expect("attendees")
        .into_iter()
        .map(|a| a.id)
        .collect();
    let zones: Vec<_> = store
        .locations()
        .expect("locations")
        .iter()
        .filter(|l| l.kind == LocationKind::Zone)
        .map(|l| l.id)
        .collect();
    println!("READY");
    let mut out = std::io::stdout().lock();
    let mut i = 0usize;
    loop {
        let now = Utc::now();
        let id = ids[i % ids.len()];
        let zone = zones[i % zones.len()];
        let outcome = store
            .check_in_attendee(id, zone, Direction::In, checkin_core::model::Method::Scan, now)
            .expect("check-in");
        if let Verdict::Admitted { checkin_id, .. } = outcome.verdict {
            writeln!(out, "ACK {checkin_id}").expect("stdout");
            out.flush().expect("stdout");
        }
        i += 1;
    }
}
