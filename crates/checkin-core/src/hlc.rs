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

/// The next (ms, counter) after (ms, counter) at the same wall-clock time.
fn after(ms: i64, counter: u32) -> (i64, u32) {
    if counter >= MAX_COUNTER {
        (ms.saturating_add(1), 0)
    } else {
        (ms, counter + 1)
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

    /// The next timestamp for a local event at wall-clock `now_ms`.
    pub fn tick(self, now_ms: i64) -> Hlc {
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
    /// Any remote value is taken, even a counter no desk would write (a
    /// pushed change is applied by every desk: it must not crash them).
    pub fn observe(self, remote: Hlc, now_ms: i64) -> Hlc {
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
#[error("not a hybrid-clock timestamp: {0:?} (expected MILLIS-COUNTER-UUID)")]
pub struct HlcParseError(pub String);

impl FromStr for Hlc {
    type Err = HlcParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || HlcParseError(s.to_string());
        let mut parts = s.splitn(3, '-');
        let ms = parts.next().ok_or_else(err)?.parse().map_err(|_| err())?;
        let counter = parts.next().ok_or_else(err)?.parse().map_err(|_| err())?;
        let node = parts.next().ok_or_else(err)?.parse().map_err(|_| err())?;
        Ok(Hlc { ms, counter, node })
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
        // A remote desk whose clock is two hours ahead.
        let remote = Hlc::zero(node(2)).tick(1_000 + 7_200_000);
        let merged = local.observe(remote, 1_001);
        assert!(merged > remote);
        assert_eq!(merged.node, node(1));
        assert!(merged.tick(1_002) > merged);
    }

    /// Found with the `sync_push` fuzz target (a hand-made input run through
    /// it, `fuzz/regressions/sync_push/`): a change whose counter was u32::MAX
    /// overflowed `observe` and crashed every desk that applied it.
    #[test]
    fn extreme_remote_counters_carry_into_the_milliseconds() {
        let local = Hlc::zero(node(1)).tick(1_000);
        for counter in [MAX_COUNTER, MAX_COUNTER + 1, u32::MAX] {
            let remote = Hlc {
                ms: 9_999_999_999_999,
                counter,
                node: node(2),
            };
            let merged = local.observe(remote, 1_001);
            assert!(merged > remote);
            assert_eq!((merged.ms, merged.counter), (10_000_000_000_000, 0));
            assert!(merged.tick(1_002) > merged);
        }
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
