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
        if now_ms > self.ms {
            Hlc {
                ms: now_ms,
                counter: 0,
                node: self.node,
            }
        } else {
            Hlc {
                ms: self.ms,
                counter: self.counter + 1,
                node: self.node,
            }
        }
    }

    /// Merge a timestamp received from another node, at wall-clock `now_ms`.
    pub fn observe(self, remote: Hlc, now_ms: i64) -> Hlc {
        let ms = self.ms.max(remote.ms).max(now_ms);
        let counter = if ms == self.ms && ms == remote.ms {
            self.counter.max(remote.counter) + 1
        } else if ms == self.ms {
            self.counter + 1
        } else if ms == remote.ms {
            remote.counter + 1
        } else {
            0
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
