//! Hybrid logical clock: orders changes across desks whose wall clocks
//! disagree. A timestamp is (wall-clock milliseconds, counter, node); it never
//! goes backwards on one node and always moves past any timestamp it has seen.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One HLC timestamp. Its text form (`{ms:013}-{counter:06}-{node}`) sorts
/// the same way as the value, so SQLite can compare it as TEXT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    pub ms: i64,
    pub counter: u32,
    pub node: Uuid,
}

/// The largest counter: six digits, so that the text form sorts like the
/// value. One more moves the timestamp a millisecond on instead.
pub const MAX_COUNTER: u32 = 999_999;

/// The largest milliseconds value: thirteen digits (the year 2286), so that
/// the text form sorts like the value. Parsing refuses anything larger.
pub const MAX_MS: i64 = 9_999_999_999_999;

/// How far ahead of a receiver's clock a change's timestamp may be. Servers
/// and hubs refuse changes further ahead, and no desk takes such a
/// timestamp into its clock (see `docs/security.md`, "Honest clocks").
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// The next (ms, counter) after (ms, counter) at the same wall-clock time.
/// Never past ([`MAX_MS`], [`MAX_COUNTER`]): the text form keeps sorting.
fn after(ms: i64, counter: u32) -> (i64, u32) {
    if counter < MAX_COUNTER {
        (ms, counter + 1)
    } else if ms < MAX_MS {
        (ms + 1, 0)
    } else {
        (MAX_MS, MAX_COUNTER)
    }
}

impl Hlc {
    pub fn zero(node: Uuid) -> Self {
        Hlc {
            ms: 0,
            counter: 0,
            node,
        }
    }

    /// Whether this timestamp is further ahead of `now_ms` than a receiver
    /// accepts ([`MAX_SKEW_MS`]).
    pub fn too_far_ahead(&self, now_ms: i64) -> bool {
        self.ms > now_ms.saturating_add(MAX_SKEW_MS)
    }

    /// Whether the value is one the text form sorts correctly: milliseconds
    /// in `0..=MAX_MS`, counter at most [`MAX_COUNTER`]. Parsing refuses
    /// anything else.
    pub fn in_range(&self) -> bool {
        (0..=MAX_MS).contains(&self.ms) && self.counter <= MAX_COUNTER
    }

    /// The next timestamp for a local event at wall-clock `now_ms`.
    pub fn tick(self, now_ms: i64) -> Hlc {
        let now_ms = now_ms.clamp(0, MAX_MS);
        let (ms, counter) = if now_ms > self.ms {
            (now_ms, 0)
        } else {
            after(self.ms, self.counter)
        };
        Hlc {
            ms,
            counter,
            node: self.node,
        }
    }

    /// Merge a timestamp received from another node, at wall-clock `now_ms`.
    /// A remote value further ahead than [`MAX_SKEW_MS`] is not taken (the
    /// clock is not raised by a change a receiver would refuse); an
    /// out-of-range one is clamped, so nothing a change carries can crash
    /// a desk or roll its clock over.
    pub fn observe(self, remote: Hlc, now_ms: i64) -> Hlc {
        let now_ms = now_ms.clamp(0, MAX_MS);
        if remote.too_far_ahead(now_ms) {
            return self;
        }
        let remote = Hlc {
            ms: remote.ms.clamp(0, MAX_MS),
            counter: remote.counter.min(MAX_COUNTER),
            node: remote.node,
        };
        let ms = self.ms.max(remote.ms).max(now_ms);
        let (ms, counter) = if ms == self.ms && ms == remote.ms {
            after(ms, self.counter.max(remote.counter))
        } else if ms == self.ms {
            after(ms, self.counter)
        } else if ms == remote.ms {
            after(ms, remote.counter)
        } else {
            (ms, 0)
        };
        Hlc {
            ms,
            counter,
            node: self.node,
        }
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:013}-{:06}-{}", self.ms, self.counter, self.node)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a hybrid-clock timestamp: {0:?} (expected MILLIS-COUNTER-UUID, at most 13 digits of milliseconds and 6 of counter)"
)]
pub struct HlcParseError(pub String);

impl FromStr for Hlc {
    type Err = HlcParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || HlcParseError(s.to_string());
        let mut parts = s.splitn(3, '-');
        let ms = parts.next().ok_or_else(err)?.parse().map_err(|_| err())?;
        let counter = parts.next().ok_or_else(err)?.parse().map_err(|_| err())?;
        let node = parts.next().ok_or_else(err)?.parse().map_err(|_| err())?;
        let hlc = Hlc { ms, counter, node };
        if !hlc.in_range() {
            return Err(err());
        }
        Ok(hlc)
    }
}

impl Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn tick_is_monotonic_even_when_the_wall_clock_goes_back() {
        let a = Hlc::zero(node(1)).tick(1_000);
        let b = a.tick(500);
        let c = b.tick(500);
        assert!(a < b && b < c);
        assert_eq!(c.ms, 1_000);
        assert_eq!(c.counter, 2);
    }

    #[test]
    fn observe_moves_past_the_remote_timestamp() {
        let local = Hlc::zero(node(1)).tick(1_000);
        // A remote desk whose clock is two minutes ahead.
        let remote = Hlc::zero(node(2)).tick(1_000 + 120_000);
        let merged = local.observe(remote, 1_001);
        assert!(merged > remote);
        assert_eq!(merged.node, node(1));
        assert!(merged.tick(1_002) > merged);
        // Two hours ahead is more than a receiver accepts: not taken.
        let far = Hlc::zero(node(2)).tick(1_000 + 7_200_000);
        assert_eq!(local.observe(far, 1_001), local);
    }

    /// Found with the `sync_push` fuzz target (a hand-made input run through
    /// it, `fuzz/regressions/sync_push/`): a change whose counter was u32::MAX
    /// overflowed `observe` and crashed every desk that applied it. Later, as
    /// an attack (issue "Every change is checked"): a timestamp at the end of
    /// time rolled every desk's clock over to a 14-digit value that sorted
    /// below everything, and every last-writer-wins edit lost from then on.
    /// Such a value is no longer taken into the clock at all.
    #[test]
    fn poisoned_remote_timestamps_are_not_taken() {
        let local = Hlc::zero(node(1)).tick(1_000);
        for counter in [0, MAX_COUNTER, MAX_COUNTER + 1, u32::MAX] {
            let remote = Hlc {
                ms: 9_999_999_999_999,
                counter,
                node: node(2),
            };
            let merged = local.observe(remote, 1_001);
            assert_eq!(merged, local);
            assert!(merged.tick(1_002) > merged);
        }
        // Just within the skew is taken and moved past.
        let near = Hlc {
            ms: 1_001 + MAX_SKEW_MS,
            counter: u32::MAX,
            node: node(2),
        };
        let merged = local.observe(near, 1_001);
        assert_eq!((merged.ms, merged.counter), (1_001 + MAX_SKEW_MS + 1, 0));
        // Many events in one millisecond: the counter never needs a 7th digit.
        let full = Hlc {
            ms: 5_000,
            counter: MAX_COUNTER,
            node: node(1),
        };
        let next = full.tick(5_000);
        assert_eq!((next.ms, next.counter), (5_001, 0));
        assert!(next > full && next.to_string() > full.to_string());
        let both = full.observe(
            Hlc {
                node: node(2),
                ..full
            },
            4_000,
        );
        assert_eq!((both.ms, both.counter), (5_001, 0));
        // The end of time saturates instead of rolling over.
        let end = Hlc {
            ms: MAX_MS,
            counter: MAX_COUNTER,
            node: node(1),
        };
        assert_eq!(end.tick(0), end);
    }

    #[test]
    fn values_the_text_form_cannot_sort_do_not_parse() {
        let n = node(3);
        assert!(format!("9999999999999-999999-{n}").parse::<Hlc>().is_ok());
        assert!(format!("10000000000000-000000-{n}").parse::<Hlc>().is_err());
        assert!(format!("0000000000001-1000000-{n}").parse::<Hlc>().is_err());
        assert!(format!("0000000000001-4294967295-{n}").parse::<Hlc>().is_err());
        assert!(format!("-1-000000-{n}").parse::<Hlc>().is_err());
    }

    proptest::proptest! {
        /// For every value that can be accepted, the text form sorts like
        /// the value and parses back to it.
        #[test]
        fn text_form_sorts_like_every_accepted_value(
            a in 0..=MAX_MS, ac in 0..=MAX_COUNTER, an in proptest::num::u128::ANY,
            b in 0..=MAX_MS, bc in 0..=MAX_COUNTER, bn in proptest::num::u128::ANY,
        ) {
            let x = Hlc { ms: a, counter: ac, node: node(an) };
            let y = Hlc { ms: b, counter: bc, node: node(bn) };
            proptest::prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
            proptest::prop_assert_eq!(x.to_string().parse::<Hlc>().unwrap(), x);
            let t = x.tick(b);
            proptest::prop_assert!(t.in_range() && t >= x);
        }
    }

    #[test]
    fn text_form_sorts_like_the_value() {
        let a = Hlc {
            ms: 999,
            counter: 5,
            node: node(9),
        };
        let b = Hlc {
            ms: 1_000,
            counter: 0,
            node: node(1),
        };
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a);
        assert!("garbage".parse::<Hlc>().is_err());
    }
}
