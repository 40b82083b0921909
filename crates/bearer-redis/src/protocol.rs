//! The fleet protocol: the Lua scripts that read an entry or take the lease in one atomic
//! round trip, store a new token and release the lease, and the typed answers they give.

use std::time::Duration;

use redis::{Cmd, Value};

use crate::identity::SharedKeys;
use crate::link::{RedisLink, Unavailable};
use crate::sealing::Fingerprint;

/// KEYS: entry, lease. ARGV: fingerprint to skip (or ''), exact value to skip (or ''),
/// '1' to delete a skipped entry, lease owner, lease milliseconds.
///
/// Returns `{'hit', value, entry pttl}`, `{'lease'}` (the caller now holds it), or
/// `{'held', pttl[, value, entry pttl]}` (another process fetches; `value` is the skipped
/// entry, still there, which the caller may serve while it waits). The entry's PTTL is the
/// token's remaining life on Redis's clock, the one clock every process shares.
const ACQUIRE: &str = r"
local v = redis.call('GET', KEYS[1])
local skipped = false
if v then
  if (ARGV[1] ~= '' and string.sub(v, 2, 33) == ARGV[1]) or (ARGV[2] ~= '' and v == ARGV[2]) then
    if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) else skipped = v end
    v = false
  end
end
if v then return {'hit', v, redis.call('PTTL', KEYS[1])} end
if redis.call('SET', KEYS[2], ARGV[4], 'NX', 'PX', ARGV[5]) then return {'lease'} end
if skipped then return {'held', redis.call('PTTL', KEYS[2]), skipped, redis.call('PTTL', KEYS[1])} end
return {'held', redis.call('PTTL', KEYS[2])}
";

/// KEYS: entry, lease. ARGV: value, ttl milliseconds, lease owner. Stores the value and
/// releases the lease if the caller still owns it (compare-and-delete).
const STORE: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
";

/// KEYS: lease. ARGV: owner. Releases the lease if the caller still owns it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Which entry the caller does not want back.
#[derive(Debug, Default)]
pub(crate) struct Skip {
    /// The token the caller holds and wants replaced (due, or rejected by the API).
    pub(crate) fingerprint: Option<Fingerprint>,
    /// A value that could not be opened.
    pub(crate) value: Option<Vec<u8>>,
    /// Delete a skipped entry (it holds a rejected token) instead of keeping it for others.
    pub(crate) delete: bool,
}

/// What [`acquire`] found.
pub(crate) enum Acquired {
    /// An entry the caller did not skip.
    Hit(Entry),
    /// The caller holds the lease: it fetches for the fleet.
    Lease,
    /// Another process holds the lease for this long; the skipped entry, if still there.
    Held { lease_left: Duration, current: Option<Entry> },
}

/// A shared entry as read from Redis.
pub(crate) struct Entry {
    /// The stored value.
    pub(crate) value: Vec<u8>,
    /// How long Redis keeps it (its PTTL), if it said.
    pub(crate) ttl: Option<Duration>,
}

/// One round trip: the entry, or the lease, or who holds it.
pub(crate) async fn acquire(
    link: &RedisLink,
    keys: &SharedKeys,
    skip: &Skip,
    owner: &str,
    lease: Duration,
) -> Result<Acquired, Unavailable> {
    let mut cmd = script(ACQUIRE, &[&keys.entry, &keys.lease]);
    cmd.arg(skip.fingerprint.as_ref().map(|f| &f.0[..]).unwrap_or_default())
        .arg(skip.value.as_deref().unwrap_or_default())
        .arg(if skip.delete { "1" } else { "0" })
        .arg(owner)
        .arg(millis(lease).max(1));
    link.query(&cmd, parse_acquired).await
}

/// One round trip: stores `value` for `ttl` and releases the caller's lease.
pub(crate) async fn store(
    link: &RedisLink,
    keys: &SharedKeys,
    value: &[u8],
    ttl: Duration,
    owner: &str,
) -> Result<(), Unavailable> {
    let mut cmd = script(STORE, &[&keys.entry, &keys.lease]);
    cmd.arg(value).arg(millis(ttl).max(1)).arg(owner);
    link.query(&cmd, |answer| matches!(answer, Value::Int(1)).then_some(())).await
}

/// One round trip: releases the caller's lease after a failed fetch, so others need not
/// wait for it to expire.
pub(crate) async fn release(link: &RedisLink, keys: &SharedKeys, owner: &str) -> Result<(), Unavailable> {
    let mut cmd = script(RELEASE, &[&keys.lease]);
    cmd.arg(owner);
    link.query(&cmd, |answer| matches!(answer, Value::Int(0 | 1)).then_some(())).await
}

fn script(body: &str, keys: &[&str]) -> Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(body).arg(keys.len());
    for key in keys {
        cmd.arg(*key);
    }
    cmd
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn parse_acquired(answer: Value) -> Option<Acquired> {
    let Value::Array(items) = answer else { return None };
    let mut items = items.into_iter();
    let tag = bytes(items.next()?)?;
    match tag.as_slice() {
        b"hit" => Some(Acquired::Hit(entry(&mut items)?)),
        b"lease" => Some(Acquired::Lease),
        b"held" => {
            let Value::Int(pttl) = items.next()? else { return None };
            // -2: it just went away, look again at once. -1: a lease without expiry (not one of
            // ours): its end is unknown, so it is polled like any other, never in a tight loop.
            let lease_left = match u64::try_from(pttl) {
                Ok(millis) => Duration::from_millis(millis),
                Err(_) if pttl == -1 => Duration::MAX,
                Err(_) => Duration::ZERO,
            };
            let current = match items.len() {
                0 => None,
                _ => Some(entry(&mut items)?),
            };
            Some(Acquired::Held { lease_left, current })
        }
        _ => None,
    }
}

/// A value and, if given, its PTTL (negative: no TTL known).
fn entry(items: &mut std::vec::IntoIter<Value>) -> Option<Entry> {
    let value = bytes(items.next()?)?;
    let ttl = match items.next() {
        None => None,
        Some(Value::Int(pttl)) => u64::try_from(pttl).ok().map(Duration::from_millis),
        Some(_) => return None,
    };
    Some(Entry { value, ttl })
}

fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.into_bytes()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_the_scripts_give_parse() {
        let hit = Value::Array(vec![Value::BulkString(b"hit".to_vec()), Value::BulkString(b"v".to_vec())]);
        assert!(matches!(parse_acquired(hit), Some(Acquired::Hit(e)) if e.value == b"v" && e.ttl.is_none()));
        let hit =
            Value::Array(vec![Value::BulkString(b"hit".to_vec()), Value::BulkString(b"v".to_vec()), Value::Int(2500)]);
        assert!(matches!(
            parse_acquired(hit),
            Some(Acquired::Hit(e)) if e.ttl == Some(Duration::from_millis(2500))
        ));
        assert!(matches!(
            parse_acquired(Value::Array(vec![Value::BulkString(b"lease".to_vec())])),
            Some(Acquired::Lease)
        ));
        let held = Value::Array(vec![Value::BulkString(b"held".to_vec()), Value::Int(1500)]);
        assert!(matches!(
            parse_acquired(held),
            Some(Acquired::Held { lease_left, current: None }) if lease_left == Duration::from_millis(1500)
        ));
    }

    #[test]
    fn garbage_is_refused() {
        for garbage in [
            Value::Nil,
            Value::Int(3),
            Value::Array(vec![]),
            Value::Array(vec![Value::BulkString(b"what".to_vec())]),
            Value::Array(vec![Value::BulkString(b"hit".to_vec())]),
            Value::Array(vec![Value::BulkString(b"held".to_vec()), Value::Nil]),
        ] {
            assert!(parse_acquired(garbage).is_none());
        }
    }
}
