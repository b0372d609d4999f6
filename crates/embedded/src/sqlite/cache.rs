//! The write-through cache of hot records (contacts, participants).
//!
//! Coherence: the writer thread is the only writer of the database, and it `put`s every
//! record it wrote only after its transaction committed. A reader that misses reserves the
//! slot with a ticket before reading the database, and fills the slot only if its ticket is
//! still there: if the writer put a newer value meanwhile (or the slot was evicted), the
//! read, which may have come from an older snapshot, is not cached. So the cache never holds
//! a value older than the last committed one, nor one that was never committed.
//!
//! Bounded: two generations of at most `capacity` entries each; when the young one is full
//! it becomes the old one and the previous old one is dropped. A hit in the old generation
//! moves the entry back to the young one.

use parking_lot::Mutex;
use std::collections::HashMap;

enum Slot<V> {
    /// A reader is loading this key from the database.
    Pending(u64),
    /// The committed value (None: no such record).
    Ready(Option<V>),
}

pub(crate) enum Lookup<V> {
    Hit(Option<V>),
    /// Not cached: read the database; when a ticket is given, hand the result to `fill`.
    Miss(Option<u64>),
}

pub(crate) struct Cache<V> {
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    young: HashMap<String, Slot<V>>,
    old: HashMap<String, Slot<V>>,
    capacity: usize,
    next_ticket: u64,
}

impl<V> Inner<V> {
    fn insert_young(&mut self, key: String, slot: Slot<V>) {
        if self.young.len() >= self.capacity && !self.young.contains_key(&key) {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, slot);
    }
}

impl<V: Clone> Cache<V> {
    pub(crate) fn new(capacity: usize) -> Cache<V> {
        Cache {
            inner: Mutex::new(Inner {
                young: HashMap::new(),
                old: HashMap::new(),
                capacity: capacity.max(1),
                next_ticket: 1,
            }),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Lookup<V> {
        let mut inner = self.inner.lock();
        match inner.young.get(key) {
            Some(Slot::Ready(v)) => return Lookup::Hit(v.clone()),
            Some(Slot::Pending(_)) => return Lookup::Miss(None),
            None => {}
        }
        match inner.old.remove(key) {
            Some(Slot::Ready(v)) => {
                inner.insert_young(key.to_owned(), Slot::Ready(v.clone()));
                return Lookup::Hit(v);
            }
            // A reservation that aged out: its reader will find no ticket and not fill.
            Some(Slot::Pending(_)) | None => {}
        }
        let ticket = inner.next_ticket;
        inner.next_ticket += 1;
        inner.insert_young(key.to_owned(), Slot::Pending(ticket));
        Lookup::Miss(Some(ticket))
    }

    /// Stores what a reader loaded, if its reservation is still there.
    pub(crate) fn fill(&self, key: &str, ticket: u64, value: Option<V>) {
        let mut inner = self.inner.lock();
        if let Some(slot) = inner.young.get_mut(key) {
            if matches!(slot, Slot::Pending(t) if *t == ticket) {
                *slot = Slot::Ready(value);
            }
        }
    }

    /// Drops a reader's reservation (its read failed).
    pub(crate) fn abandon(&self, key: &str, ticket: u64) {
        let mut inner = self.inner.lock();
        if matches!(inner.young.get(key), Some(Slot::Pending(t)) if *t == ticket) {
            inner.young.remove(key);
        }
    }

    /// The writer's committed values, in commit order.
    pub(crate) fn put_all(&self, values: impl IntoIterator<Item = (String, V)>) {
        let mut inner = self.inner.lock();
        for (key, value) in values {
            inner.old.remove(&key);
            inner.insert_young(key, Slot::Ready(Some(value)));
        }
    }

    /// `f` of the cached value (None: known not to exist), without reserving or promoting
    /// anything; None when the key is not cached.
    pub(crate) fn peek_with<R>(&self, key: &str, f: impl FnOnce(Option<&V>) -> R) -> Option<R> {
        let inner = self.inner.lock();
        match inner.young.get(key).or_else(|| inner.old.get(key)) {
            Some(Slot::Ready(v)) => Some(f(v.as_ref())),
            Some(Slot::Pending(_)) | None => None,
        }
    }

    /// Forgets the given keys (a reader holding a ticket for one will not fill it).
    pub(crate) fn invalidate<'a>(&self, keys: impl IntoIterator<Item = &'a str>) {
        let mut inner = self.inner.lock();
        for key in keys {
            inner.young.remove(key);
            inner.old.remove(key);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let inner = self.inner.lock();
        inner.young.len() + inner.old.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_fill_after_put_is_ignored() {
        let cache: Cache<u32> = Cache::new(10);
        let Lookup::Miss(Some(ticket)) = cache.get("a") else { panic!("expected a reservation") };
        // A concurrent reader sees the reservation and does not get one.
        assert!(matches!(cache.get("a"), Lookup::Miss(None)));
        cache.put_all([("a".to_owned(), 2)]);
        cache.fill("a", ticket, Some(1));
        assert!(matches!(cache.get("a"), Lookup::Hit(Some(2))));
    }

    #[test]
    fn fill_and_negative_entries() {
        let cache: Cache<u32> = Cache::new(10);
        let Lookup::Miss(Some(ticket)) = cache.get("a") else { panic!("expected a reservation") };
        cache.fill("a", ticket, None);
        assert!(matches!(cache.get("a"), Lookup::Hit(None)));
        cache.put_all([("a".to_owned(), 5)]);
        assert!(matches!(cache.get("a"), Lookup::Hit(Some(5))));
    }

    #[test]
    fn invalidate_drops_values_and_tickets() {
        let cache: Cache<u32> = Cache::new(10);
        cache.put_all([("a".to_owned(), 1)]);
        let Lookup::Miss(Some(ticket)) = cache.get("b") else { panic!("expected a reservation") };
        cache.invalidate(["a", "b"]);
        cache.fill("b", ticket, Some(2));
        assert!(matches!(cache.get("a"), Lookup::Miss(Some(_))));
        assert!(matches!(cache.get("b"), Lookup::Miss(Some(_))));
    }

    #[test]
    fn abandon_and_bounded() {
        let cache: Cache<u32> = Cache::new(4);
        let Lookup::Miss(Some(ticket)) = cache.get("a") else { panic!("expected a reservation") };
        cache.abandon("a", ticket);
        assert!(matches!(cache.get("a"), Lookup::Miss(Some(_))));
        cache.put_all((0..100).map(|i| (format!("k{i}"), i)));
        assert!(cache.len() <= 8);
        assert!(matches!(cache.get("k99"), Lookup::Hit(Some(99))));
        // Evicted entries are misses again, never wrong values.
        assert!(matches!(cache.get("k0"), Lookup::Miss(Some(_))));
    }
}
