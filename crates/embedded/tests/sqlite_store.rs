//! The SQLite store against real files in a temporary folder.

use confab_embedded::sqlite::{SqliteOptions, SqliteStore};
use confab_ports::{
    Batch, Check, Committed, Contact, ItemQuery, Locate, NewItem, Participant, Receipt, RecordWrite, Role,
    Store, StoreError, Timer,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        TempDir(std::env::temp_dir().join(format!(
            "confab-embedded-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )))
    }

    fn db(&self) -> PathBuf {
        // A folder that does not exist yet: open creates it.
        self.0.join("data").join("confab.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn contact(id: &str) -> Contact {
    Contact {
        id: id.into(),
        instance_id: "instance".into(),
        initial_contact_id: id.into(),
        created_at: 1_000,
        expires_at: 1_000 + 25 * 3_600_000,
        ended_at: None,
        disconnect_reason: None,
        details: serde_json::json!({"Attributes": {"a": "b"}, "CustomerId": null, "n": [1, 2]}),
    }
}

fn participant(id: &str, contact_id: &str, role: Role) -> Participant {
    Participant {
        id: id.into(),
        contact_id: contact_id.into(),
        role,
        display_name: format!("name of {id}"),
        created_at: 1_000,
        connected_at: None,
        left_at: None,
    }
}

fn item(id: &str, at: i64) -> NewItem {
    NewItem { id: id.into(), at, json: format!(r#"{{"Id":"{id}","AbsoluteTime":{at}}}"#) }
}

fn items_batch(contact_id: &str, items: Vec<NewItem>) -> Batch {
    let mut b = Batch::new(contact_id);
    b.items = items;
    b
}

fn seqs(c: Committed) -> Vec<u64> {
    match c {
        Committed::Applied { seqs } => seqs,
        other => panic!("expected Applied, got {other:?}"),
    }
}

async fn all_items(store: &SqliteStore, contact_id: &str) -> Vec<confab_ports::StoredItem> {
    store
        .items(ItemQuery { contact_id: contact_id.into(), from: 1, ascending: true, limit: usize::MAX })
        .await
        .expect("items")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_committers_get_gap_free_seqs_with_group_commit() {
    let dir = TempDir::new("concurrent");
    let store = Arc::new(SqliteStore::open(&dir.db()).expect("open"));
    const TASKS: usize = 200;
    const PER_TASK: usize = 50;
    const CONTACTS: usize = 10;

    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..PER_TASK {
                let contact_id = format!("contact-{}", (t + i) % CONTACTS);
                let id = format!("item-{t}-{i}");
                let seq =
                    seqs(store.commit(items_batch(&contact_id, vec![item(&id, 10)])).await.expect("commit"));
                assert_eq!(seq.len(), 1);
                got.push((contact_id, id, seq[0]));
            }
            got
        }));
    }
    let mut answered: HashMap<String, HashMap<u64, String>> = HashMap::new();
    for h in handles {
        for (contact_id, id, seq) in h.await.expect("task") {
            let previous = answered.entry(contact_id).or_default().insert(seq, id);
            assert!(previous.is_none(), "a seq was given twice");
        }
    }
    let elapsed = started.elapsed();
    let total = TASKS * PER_TASK;
    let stats = store.stats();
    println!(
        "{total} batches from {TASKS} concurrent committers in {elapsed:?} ({:.0} commits/s): \
         {} transactions, largest group {}, {:?}",
        total as f64 / elapsed.as_secs_f64(),
        stats.groups,
        stats.largest_group,
        stats
    );
    assert_eq!(stats.batches, total as u64);
    assert_eq!(stats.applied, total as u64);
    assert!(stats.groups < stats.batches, "no group commit happened: {stats:?}");

    let mut seen = 0;
    for c in 0..CONTACTS {
        let contact_id = format!("contact-{c}");
        let items = all_items(&store, &contact_id).await;
        let expected: Vec<u64> = (1..=items.len() as u64).collect();
        assert_eq!(items.iter().map(|i| i.seq).collect::<Vec<_>>(), expected, "gap-free per contact");
        let answers = &answered[&contact_id];
        assert_eq!(answers.len(), items.len());
        for i in &items {
            assert_eq!(answers[&i.seq], i.id, "stored seq matches the answered one");
            assert_eq!(i.contact_id, contact_id);
        }
        let unique: std::collections::HashSet<_> = items.iter().map(|i| i.id.clone()).collect();
        assert_eq!(unique.len(), items.len(), "each item once");
        seen += items.len();
        assert_eq!(store.locate(&contact_id, Locate::Last).await.expect("locate"), Some(items.len() as u64));
    }
    assert_eq!(seen, total);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_check_is_rolled_back_alone_within_a_group() {
    let dir = TempDir::new("checks");
    // A writer with a big group size, and many batches in flight at once, so that good and
    // bad batches share transactions.
    let store = Arc::new(SqliteStore::open_with(&dir.db(), SqliteOptions::default()).expect("open"));
    let mut setup = Batch::new("c");
    setup.contact = Some(contact("c"));
    setup.participants.push(participant("p1", "c", Role::Customer));
    let mut gone = participant("p2", "c", Role::Agent);
    gone.left_at = Some(2_000);
    setup.participants.push(gone);
    store.commit(setup).await.expect("setup");

    let mut handles = Vec::new();
    for i in 0..300 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut b = items_batch("c", vec![item(&format!("m{i}"), 5_000 + i)]);
            b.checks.push(Check::ContactActive);
            let bad = i % 3 == 0;
            b.checks.push(Check::ParticipantActive(if bad { "p2".into() } else { "p1".into() }));
            // The bad batch also carries other writes, all of which must vanish.
            b.set_timers.push(Timer {
                key: format!("t{i}"),
                contact_id: "c".into(),
                due: 1,
                kind: "k".into(),
            });
            b.receipts.push(Receipt {
                contact_id: "c".into(),
                message_id: format!("m{i}"),
                recipient_id: "p1".into(),
                delivered_at: Some(1),
                read_at: None,
            });
            (i, bad, store.commit(b).await)
        }));
    }
    let mut good_seqs = Vec::new();
    for h in handles {
        let (i, bad, r) = h.await.expect("task");
        if bad {
            match r {
                Err(StoreError::CheckFailed(Check::ParticipantActive(p))) => assert_eq!(p, "p2"),
                other => panic!("batch {i}: expected a failed check, got {other:?}"),
            }
        } else {
            good_seqs.extend(seqs(r.expect("good batch")));
        }
    }
    good_seqs.sort_unstable();
    assert_eq!(good_seqs, (1..=200).collect::<Vec<u64>>(), "rejected batches took no seqs");
    let stats = store.stats();
    println!("checks: {stats:?}");
    assert_eq!(stats.rejected, 100);
    assert!(stats.groups < stats.batches, "batches should have shared transactions: {stats:?}");

    let items = all_items(&store, "c").await;
    assert_eq!(items.len(), 200);
    assert!(items.iter().all(|it| it.id.trim_start_matches('m').parse::<u64>().expect("id") % 3 != 0));
    let due = store.due_timers(10, 1_000).await.expect("timers");
    assert_eq!(due.len(), 200);
    assert!(due.iter().all(|t| t.key.trim_start_matches('t').parse::<u64>().expect("key") % 3 != 0));
    let all_ids: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    assert_eq!(store.receipts("c", &all_ids).await.expect("receipts").len(), 200);

    // The other checks.
    let mut b = Batch::new("c");
    b.checks.push(Check::ParticipantsFewerThan(2));
    assert!(matches!(store.commit(b).await, Err(StoreError::CheckFailed(Check::ParticipantsFewerThan(2)))));
    let mut b = Batch::new("c");
    b.checks.push(Check::ParticipantsFewerThan(3));
    b.participants.push(participant("p3", "c", Role::CustomBot));
    store.commit(b).await.expect("2 < 3");
    // Counts those who left: now 3.
    let mut b = Batch::new("c");
    b.checks.push(Check::ParticipantsFewerThan(3));
    assert!(store.commit(b).await.is_err());
    // ParticipantActive of another contact's participant fails.
    let mut other = Batch::new("other");
    other.contact = Some(contact("other"));
    store.commit(other).await.expect("other contact");
    let mut b = Batch::new("other");
    b.checks.push(Check::ParticipantActive("p1".into()));
    assert!(matches!(store.commit(b).await, Err(StoreError::CheckFailed(_))));
    // ContactActive fails for an unknown and for an ended contact.
    let mut b = Batch::new("nope");
    b.checks.push(Check::ContactActive);
    assert!(matches!(store.commit(b).await, Err(StoreError::CheckFailed(Check::ContactActive))));
    let mut end = Batch::new("other");
    let mut ended = contact("other");
    ended.ended_at = Some(9_000);
    ended.disconnect_reason = Some("CUSTOMER_DISCONNECT".into());
    end.contact = Some(ended.clone());
    store.commit(end).await.expect("end");
    let mut b = Batch::new("other");
    b.checks.push(Check::ContactActive);
    assert!(matches!(store.commit(b).await, Err(StoreError::CheckFailed(Check::ContactActive))));
    assert_eq!(store.contact("other").await.expect("contact"), Some(ended));
    assert_eq!(store.active_contacts().await.expect("active"), 1);
}

/// Batches go without savepoints; one that fails after it wrote (here: its second item
/// repeats the first one's id) makes the writer roll the group back and run it again with a
/// savepoint per batch, so that only that batch's writes vanish.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_failing_after_it_wrote_is_rolled_back_alone() {
    let dir = TempDir::new("redo");
    let store = Arc::new(SqliteStore::open_with(&dir.db(), SqliteOptions::default()).expect("open"));
    let mut setup = Batch::new("c");
    setup.contact = Some(contact("c"));
    store.commit(setup).await.expect("setup");

    let mut handles = Vec::new();
    for i in 0..300 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let bad = i % 3 == 0;
            let mut items = vec![item(&format!("m{i}"), 5_000 + i)];
            if bad {
                items.push(item(&format!("m{i}"), 5_000 + i));
            }
            let mut b = items_batch("c", items);
            b.idempotency = Some((format!("key{i}"), format!("answer{i}")));
            b.set_timers.push(Timer {
                key: format!("t{i}"),
                contact_id: "c".into(),
                due: 1,
                kind: "k".into(),
            });
            (i, bad, store.commit(b).await)
        }));
    }
    let mut good_seqs = Vec::new();
    for h in handles {
        let (i, bad, r) = h.await.expect("task");
        match (bad, r) {
            (true, Err(StoreError::Backend(_))) => {}
            (false, Ok(c)) => good_seqs.extend(seqs(c)),
            (_, other) => panic!("batch {i} (bad: {bad}): {other:?}"),
        }
    }
    good_seqs.sort_unstable();
    assert_eq!(good_seqs, (1..=200).collect::<Vec<u64>>(), "failed batches took no seqs");
    let stats = store.stats();
    println!("redo: {stats:?}");
    assert!(stats.redone >= 1, "a group should have been run again: {stats:?}");
    assert!(stats.groups < stats.batches, "batches should have shared transactions: {stats:?}");

    let items = all_items(&store, "c").await;
    assert_eq!(items.len(), 200, "no item of a failed batch stays");
    assert!(items.iter().all(|it| it.id.trim_start_matches('m').parse::<u64>().expect("id") % 3 != 0));
    let due = store.due_timers(10, 1_000).await.expect("timers");
    assert_eq!(due.len(), 200);
    assert!(due.iter().all(|t| t.key.trim_start_matches('t').parse::<u64>().expect("key") % 3 != 0));
    // The failed batches' idempotency keys were rolled back too: sent again without the
    // repeated item, each applies.
    let mut again = items_batch("c", vec![item("m0", 9_000)]);
    again.idempotency = Some(("key0".into(), "answer0".into()));
    assert_eq!(seqs(store.commit(again).await.expect("retry")), vec![201]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_replay_applies_nothing() {
    let dir = TempDir::new("idem");
    let store = SqliteStore::open(&dir.db()).expect("open");
    assert_eq!(store.idempotent("k1").await.expect("idempotent"), None);

    let mut b = items_batch("c", vec![item("a", 1)]);
    b.contact = Some(contact("c"));
    b.idempotency = Some(("k1".into(), r#"{"ContactId":"c"}"#.into()));
    assert_eq!(seqs(store.commit(b).await.expect("first")), vec![1]);

    let mut again = items_batch("c", vec![item("b", 2)]);
    let mut changed = contact("c");
    changed.instance_id = "changed".into();
    again.contact = Some(changed);
    again.participants.push(participant("p", "c", Role::Customer));
    again.set_timers.push(Timer { key: "t".into(), contact_id: "c".into(), due: 1, kind: "k".into() });
    again.idempotency = Some(("k1".into(), "other response".into()));
    assert_eq!(
        store.commit(again).await.expect("replay"),
        Committed::Replayed { response: r#"{"ContactId":"c"}"#.into() }
    );
    assert_eq!(store.stats().replayed, 1);
    assert_eq!(all_items(&store, "c").await.len(), 1);
    assert_eq!(store.contact("c").await.expect("contact").expect("exists").instance_id, "instance");
    assert_eq!(store.participant("p").await.expect("participant"), None);
    assert_eq!(store.next_timer().await.expect("next"), None);
    assert_eq!(store.idempotent("k1").await.expect("idempotent").as_deref(), Some(r#"{"ContactId":"c"}"#));

    // A batch that fails does not record its key.
    let mut failing = Batch::new("c");
    failing.checks.push(Check::ParticipantActive("nobody".into()));
    failing.idempotency = Some(("k2".into(), "r2".into()));
    assert!(store.commit(failing).await.is_err());
    assert_eq!(store.idempotent("k2").await.expect("idempotent"), None);
    // Two batches with the same new key in one group: the first applies, the second replays.
    let store = Arc::new(store);
    let (a, b) = tokio::join!(
        {
            let store = store.clone();
            async move {
                let mut b = items_batch("c", vec![item("x", 3)]);
                b.idempotency = Some(("k3".into(), "r3".into()));
                store.commit(b).await
            }
        },
        {
            let store = store.clone();
            async move {
                let mut b = items_batch("c", vec![item("y", 3)]);
                b.idempotency = Some(("k3".into(), "r3-second".into()));
                store.commit(b).await
            }
        }
    );
    let outcomes = [a.expect("a"), b.expect("b")];
    assert_eq!(outcomes.iter().filter(|c| matches!(c, Committed::Applied { .. })).count(), 1);
    assert!(outcomes.contains(&Committed::Replayed { response: "r3".into() }));
    assert_eq!(all_items(&store, "c").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_keeps_everything_and_seq_continues() {
    let dir = TempDir::new("reopen");
    let path = dir.db();
    {
        let store = SqliteStore::open(&path).expect("open");
        let mut b = items_batch("c", vec![item("a", 1), item("b", 2)]);
        b.contact = Some(contact("c"));
        b.participants.push(participant("p", "c", Role::Customer));
        b.idempotency = Some(("key".into(), "resp".into()));
        b.set_timers.push(Timer { key: "t".into(), contact_id: "c".into(), due: 77, kind: "idle".into() });
        b.receipts.push(Receipt {
            contact_id: "c".into(),
            message_id: "a".into(),
            recipient_id: "p".into(),
            delivered_at: Some(5),
            read_at: None,
        });
        assert_eq!(seqs(store.commit(b).await.expect("commit")), vec![1, 2]);
        assert_eq!(seqs(store.commit(items_batch("c", vec![item("c3", 3)])).await.expect("commit")), vec![3]);
    }
    let started = Instant::now();
    let store = SqliteStore::open(&path).expect("reopen");
    println!("reopen took {:?}", started.elapsed());
    assert_eq!(store.contact("c").await.expect("contact"), Some(contact("c")));
    assert_eq!(
        store.participant("p").await.expect("participant"),
        Some(participant("p", "c", Role::Customer))
    );
    assert_eq!(store.participants("c").await.expect("participants").len(), 1);
    assert_eq!(store.idempotent("key").await.expect("idem").as_deref(), Some("resp"));
    assert_eq!(store.next_timer().await.expect("next"), Some(77));
    assert_eq!(store.receipts("c", &["a".into()]).await.expect("receipts").len(), 1);
    let items = all_items(&store, "c").await;
    assert_eq!(
        items.iter().map(|i| (i.seq, i.id.as_str())).collect::<Vec<_>>(),
        [(1, "a"), (2, "b"), (3, "c3")]
    );
    assert_eq!(items[0].json, item("a", 1).json);
    assert_eq!(items[0].at, 1);
    assert_eq!(seqs(store.commit(items_batch("c", vec![item("d", 4)])).await.expect("commit")), vec![4]);
    store.health().await.expect("health");
    drop(store);
    // And once more, with no writes in between.
    let store = SqliteStore::open(&path).expect("reopen 2");
    assert_eq!(store.locate("c", Locate::Last).await.expect("locate"), Some(4));
    assert_eq!(seqs(store.commit(items_batch("c", vec![item("e", 5)])).await.expect("commit")), vec![5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locate_and_items_both_ways() {
    let dir = TempDir::new("locate");
    let store = SqliteStore::open(&dir.db()).expect("open");
    assert_eq!(store.locate("c", Locate::Last).await.expect("locate"), None);
    // Times: seq 1..=10 at 100, 200, …, 1000; seq 5 and 6 share 500.
    let times = [100, 200, 300, 400, 500, 500, 700, 800, 900, 1000];
    let items: Vec<NewItem> =
        times.iter().enumerate().map(|(i, at)| item(&format!("i{}", i + 1), *at)).collect();
    assert_eq!(
        seqs(store.commit(items_batch("c", items)).await.expect("commit")),
        (1..=10).collect::<Vec<_>>()
    );
    store.commit(items_batch("other", vec![item("i3", 300)])).await.expect("other contact");

    let loc = |at: Locate| {
        let store = &store;
        async move { store.locate("c", at).await.expect("locate") }
    };
    assert_eq!(loc(Locate::ItemId("i3".into())).await, Some(3));
    assert_eq!(loc(Locate::ItemId("zzz".into())).await, None);
    assert_eq!(store.locate("other", Locate::ItemId("i5".into())).await.expect("locate"), None);
    assert_eq!(store.locate("other", Locate::ItemId("i3".into())).await.expect("locate"), Some(1));
    assert_eq!(loc(Locate::AtOrAfter(0)).await, Some(1));
    assert_eq!(loc(Locate::AtOrAfter(250)).await, Some(3));
    assert_eq!(loc(Locate::AtOrAfter(300)).await, Some(3));
    assert_eq!(loc(Locate::AtOrAfter(500)).await, Some(5));
    assert_eq!(loc(Locate::AtOrAfter(1001)).await, None);
    assert_eq!(loc(Locate::AtOrBefore(99)).await, None);
    assert_eq!(loc(Locate::AtOrBefore(100)).await, Some(1));
    assert_eq!(loc(Locate::AtOrBefore(650)).await, Some(6));
    assert_eq!(loc(Locate::AtOrBefore(500)).await, Some(6));
    assert_eq!(loc(Locate::AtOrBefore(5000)).await, Some(10));
    assert_eq!(loc(Locate::Last).await, Some(10));

    let page = |from: u64, ascending: bool, limit: usize| {
        let store = &store;
        async move {
            store
                .items(ItemQuery { contact_id: "c".into(), from, ascending, limit })
                .await
                .expect("items")
                .iter()
                .map(|i| i.seq)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(page(1, true, 3).await, vec![1, 2, 3]);
    assert_eq!(page(8, true, 5).await, vec![8, 9, 10]);
    assert_eq!(page(11, true, 5).await, Vec::<u64>::new());
    assert_eq!(page(10, false, 3).await, vec![10, 9, 8]);
    assert_eq!(page(2, false, 5).await, vec![2, 1]);
    assert_eq!(page(0, false, 5).await, Vec::<u64>::new());
    assert_eq!(page(u64::MAX, false, 2).await, vec![10, 9]);
    assert_eq!(page(5, true, 0).await, Vec::<u64>::new());
    let one = store
        .items(ItemQuery { contact_id: "c".into(), from: 4, ascending: true, limit: 1 })
        .await
        .expect("items");
    assert_eq!(one[0].id, "i4");
    assert_eq!(one[0].at, 400);
    assert_eq!(one[0].json, item("i4", 400).json);

    // A duplicate item id in the same contact is refused, and takes no seq.
    let r = store.commit(items_batch("c", vec![item("new", 2000), item("i1", 2000)])).await;
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    assert_eq!(
        seqs(store.commit(items_batch("c", vec![item("i11", 1100)])).await.expect("commit")),
        vec![11]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_merge_first_timestamp_wins() {
    let dir = TempDir::new("receipts");
    let store = SqliteStore::open(&dir.db()).expect("open");
    let receipt = |msg: &str, who: &str, delivered: Option<i64>, read: Option<i64>| Receipt {
        contact_id: "c".into(),
        message_id: msg.into(),
        recipient_id: who.into(),
        delivered_at: delivered,
        read_at: read,
    };
    let commit = |receipts: Vec<Receipt>| {
        let store = &store;
        async move {
            let mut b = Batch::new("c");
            b.receipts = receipts;
            store.commit(b).await.expect("commit")
        }
    };
    commit(vec![receipt("m1", "a", Some(10), None), receipt("m1", "b", None, Some(12))]).await;
    commit(vec![receipt("m1", "a", Some(20), Some(21))]).await;
    commit(vec![receipt("m1", "a", Some(30), Some(31)), receipt("m1", "b", Some(13), Some(99))]).await;
    commit(vec![receipt("m2", "a", None, Some(50))]).await;
    commit(vec![Receipt { contact_id: "other".into(), ..receipt("m1", "z", Some(1), Some(1)) }]).await;

    let got =
        store.receipts("c", &["m1".into(), "m2".into(), "m3".into(), "m1".into()]).await.expect("receipts");
    assert_eq!(
        got,
        vec![
            receipt("m1", "a", Some(10), Some(21)),
            receipt("m1", "b", Some(13), Some(12)),
            receipt("m2", "a", None, Some(50)),
        ]
    );
    assert_eq!(store.receipts("c", &[]).await.expect("receipts"), vec![]);
    assert_eq!(store.receipts("c", &["m2".into()]).await.expect("receipts").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_set_move_cancel_due() {
    let dir = TempDir::new("timers");
    let store = SqliteStore::open(&dir.db()).expect("open");
    let timer = |key: &str, due: i64| Timer {
        key: key.into(),
        contact_id: "c".into(),
        due,
        kind: format!("kind-{key}"),
    };
    assert_eq!(store.next_timer().await.expect("next"), None);
    assert_eq!(store.due_timers(i64::MAX, 10).await.expect("due"), vec![]);

    let mut b = Batch::new("c");
    b.set_timers = vec![timer("a", 300), timer("b", 100), timer("c", 200), timer("d", 200)];
    store.commit(b).await.expect("set");
    assert_eq!(store.next_timer().await.expect("next"), Some(100));
    assert_eq!(store.due_timers(99, 10).await.expect("due"), vec![]);
    assert_eq!(
        store.due_timers(200, 10).await.expect("due"),
        vec![timer("b", 100), timer("c", 200), timer("d", 200)]
    );
    assert_eq!(store.due_timers(200, 2).await.expect("due"), vec![timer("b", 100), timer("c", 200)]);
    // Due timers stay until cancelled.
    assert_eq!(store.due_timers(200, 10).await.expect("due").len(), 3);

    // Move b later, cancel c, and cancel an unknown key (no error).
    let mut b = Batch::new("c");
    b.set_timers = vec![timer("b", 1_000)];
    b.cancel_timers = vec!["c".into(), "unknown".into()];
    store.commit(b).await.expect("move and cancel");
    assert_eq!(store.next_timer().await.expect("next"), Some(200));
    assert_eq!(store.due_timers(500, 10).await.expect("due"), vec![timer("d", 200), timer("a", 300)]);
    let mut b = Batch::new("c");
    b.cancel_timers = vec!["a".into(), "b".into(), "d".into()];
    store.commit(b).await.expect("cancel all");
    assert_eq!(store.next_timer().await.expect("next"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_and_participants_read_through_the_cache() {
    let dir = TempDir::new("cache");
    let store = Arc::new(SqliteStore::open(&dir.db()).expect("open"));
    // Negative entries are replaced by the writer.
    assert_eq!(store.contact("c").await.expect("contact"), None);
    assert_eq!(store.participant("p").await.expect("participant"), None);
    let mut b = Batch::new("c");
    b.contact = Some(contact("c"));
    b.participants = vec![participant("p", "c", Role::Customer), participant("q", "c", Role::Agent)];
    store.commit(b).await.expect("create");
    assert_eq!(store.contact("c").await.expect("contact"), Some(contact("c")));
    assert_eq!(
        store.participant("p").await.expect("participant"),
        Some(participant("p", "c", Role::Customer))
    );
    assert_eq!(
        store
            .participants("c")
            .await
            .expect("participants")
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>(),
        ["p", "q"]
    );

    // A rolled-back batch never reaches the cache.
    let mut bad = Batch::new("c");
    let mut changed = contact("c");
    changed.ended_at = Some(5);
    bad.contact = Some(changed);
    let mut left = participant("p", "c", Role::Customer);
    left.left_at = Some(5);
    bad.participants.push(left.clone());
    bad.checks.push(Check::ParticipantActive("ghost".into()));
    assert!(store.commit(bad).await.is_err());
    assert_eq!(store.contact("c").await.expect("contact"), Some(contact("c")));
    assert_eq!(
        store.participant("p").await.expect("participant"),
        Some(participant("p", "c", Role::Customer))
    );

    // A committed one does, read-your-writes.
    let mut leave = Batch::new("c");
    leave.participants.push(left.clone());
    store.commit(leave).await.expect("leave");
    assert_eq!(store.participant("p").await.expect("participant"), Some(left.clone()));

    // Readers racing a stream of updates never see an older value after a newer one.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 1..=200 {
                let mut b = Batch::new("c");
                let mut c = contact("c");
                c.expires_at = i;
                b.contact = Some(c);
                store.commit(b).await.expect("update");
            }
        })
    };
    let mut readers = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        readers.push(tokio::spawn(async move {
            let mut last = i64::MIN;
            loop {
                let c = store.contact("c").await.expect("contact").expect("exists");
                let v = if c.expires_at > 1_000 { 0 } else { c.expires_at };
                assert!(v >= last, "went back from {last} to {v}");
                last = v;
                if v == 200 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    writer.await.expect("writer");
    for r in readers {
        r.await.expect("reader");
    }
    // Reopened without a cache: same answers.
    let path = dir.db();
    drop(store);
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(store.contact("c").await.expect("contact").expect("exists").expires_at, 200);
    assert_eq!(store.participant("p").await.expect("participant"), Some(left));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_transcript_opens_fast_and_locates_fast() {
    // 200,000 items on one contact by default; CONFAB_BIG_ITEMS=1000000 for the full size.
    let n: u64 = std::env::var("CONFAB_BIG_ITEMS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let dir = TempDir::new("big");
    let path = dir.db();
    let started = Instant::now();
    {
        let store = SqliteStore::open(&path).expect("open");
        let mut mk = 0u64;
        while mk < n {
            let chunk: Vec<NewItem> = (mk..(mk + 5_000).min(n))
                .map(|i| NewItem {
                    id: format!("item-{i:08}"),
                    at: 1_000_000 + i as i64 * 10,
                    json: format!(r#"{{"Id":"item-{i:08}","Type":"MESSAGE","Content":"hello there {i}"}}"#),
                })
                .collect();
            mk += chunk.len() as u64;
            store.commit(items_batch("big", chunk)).await.expect("fill");
        }
        store.commit(items_batch("small", vec![item("s", 1)])).await.expect("small");
    }
    println!("filled {n} items in {:?}", started.elapsed());

    let started = Instant::now();
    let store = SqliteStore::open(&path).expect("reopen");
    let opened = started.elapsed();
    println!("opened a database of {n} items in {opened:?}");
    assert!(opened.as_millis() < 1_000, "open took {opened:?}");

    let started = Instant::now();
    let mid = n / 2;
    assert_eq!(store.locate("big", Locate::Last).await.expect("locate"), Some(n));
    assert_eq!(
        store.locate("big", Locate::ItemId(format!("item-{mid:08}"))).await.expect("locate"),
        Some(mid + 1)
    );
    assert_eq!(
        store.locate("big", Locate::AtOrAfter(1_000_000 + mid as i64 * 10 - 5)).await.expect("locate"),
        Some(mid + 1)
    );
    assert_eq!(
        store.locate("big", Locate::AtOrBefore(1_000_000 + mid as i64 * 10 + 5)).await.expect("locate"),
        Some(mid + 1)
    );
    let page = store
        .items(ItemQuery { contact_id: "big".into(), from: n, ascending: false, limit: 100 })
        .await
        .expect("items");
    assert_eq!(page.len(), 100);
    assert_eq!(page[0].seq, n);
    // The first append after open loads MAX(seq) with one index lookup.
    assert_eq!(
        seqs(store.commit(items_batch("big", vec![item("next", 1)])).await.expect("commit")),
        vec![n + 1]
    );
    let reads = started.elapsed();
    println!("locates, a page and an append on {n} items in {reads:?}");
    assert!(reads.as_millis() < 1_000, "reads took {reads:?}");
    assert_eq!(store.locate("small", Locate::Last).await.expect("locate"), Some(1));
}

#[tokio::test]
async fn records_compare_and_set_and_prefix_listing() {
    use confab_ports::{Check, RecordWrite};
    let dir = TempDir::new("records");
    let store = SqliteStore::open(&dir.db()).expect("open");
    let mut b = Batch::new("");
    b.records = vec![
        RecordWrite::set("view", "i1/a", "1"),
        RecordWrite::set("view", "i1/b", "2"),
        RecordWrite::set("view", "i2/a", "3"),
    ];
    store.commit(b).await.expect("set");
    assert_eq!(store.record("view", "i1/b").await.expect("get"), Some("2".into()));
    let listed = store.records("view", "i1/", 10).await.expect("list");
    assert_eq!(listed, vec![("i1/a".to_owned(), "1".to_owned()), ("i1/b".to_owned(), "2".to_owned())]);
    let cas = |from: Option<&str>, to: &str| {
        let mut b = Batch::new("");
        b.checks.push(Check::RecordIs {
            kind: "view".into(),
            key: "i1/a".into(),
            value: from.map(str::to_owned),
        });
        b.records.push(RecordWrite::set("view", "i1/a", to));
        b
    };
    assert!(matches!(store.commit(cas(Some("9"), "x")).await, Err(StoreError::CheckFailed(_))));
    store.commit(cas(Some("1"), "x")).await.expect("compare-and-set");
    let mut del = Batch::new("");
    del.records.push(RecordWrite::delete("view", "i1/a"));
    store.commit(del).await.expect("delete");
    assert_eq!(store.record("view", "i1/a").await.expect("get"), None);
}

#[tokio::test]
async fn outbox_hands_out_the_head_of_each_stream_in_order() {
    use confab_ports::NewOutbox;
    let dir = TempDir::new("outbox");
    let store = SqliteStore::open(&dir.db()).expect("open");
    let mut b = Batch::new("");
    for (stream, payload) in [("s1", "a"), ("s2", "x"), ("s1", "b")] {
        b.outbox.push(NewOutbox { stream: stream.into(), payload: payload.into() });
    }
    store.commit(b).await.expect("queue");
    let due = store.outbox_due(0, 10).await.expect("due");
    assert_eq!(due.iter().map(|e| e.payload.as_str()).collect::<Vec<_>>(), ["a", "x"], "one head per stream");
    // s1's head fails: retried later, and s1's next waits behind it (in order per stream).
    let mut b = Batch::new("");
    b.outbox_retry.push((due[0].id, 1_000));
    b.outbox_done.push(due[1].id);
    store.commit(b).await.expect("ack");
    assert!(store.outbox_due(999, 10).await.expect("due").is_empty());
    let due = store.outbox_due(1_000, 10).await.expect("due");
    assert_eq!((due.len(), due[0].payload.as_str(), due[0].attempts), (1, "a", 1));
    let mut b = Batch::new("");
    b.outbox_done.push(due[0].id);
    store.commit(b).await.expect("done");
    assert_eq!(store.outbox_due(1_000, 10).await.expect("due")[0].payload, "b");
}

/// An item whose time was taken before the previous item's (two senders racing) is found by
/// time at the previous item's time, so a search over seq stays exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_never_go_back_within_a_contact() {
    let dir = TempDir::new("monotonic");
    let store = SqliteStore::open(&dir.db()).expect("open");
    let items = vec![item("a", 100), item("b", 300), item("c", 200), item("d", 400)];
    store.commit(items_batch("c", items)).await.expect("commit");
    let loc = |at: Locate| {
        let store = &store;
        async move { store.locate("c", at).await.expect("locate") }
    };
    assert_eq!(loc(Locate::AtOrAfter(150)).await, Some(2));
    assert_eq!(loc(Locate::AtOrAfter(250)).await, Some(2), "c is stored at b's time");
    assert_eq!(loc(Locate::AtOrAfter(301)).await, Some(4));
    assert_eq!(loc(Locate::AtOrBefore(250)).await, Some(1));
    assert_eq!(loc(Locate::AtOrBefore(300)).await, Some(3));
    assert_eq!(loc(Locate::AtOrBefore(399)).await, Some(3));
    let stored = store
        .items(ItemQuery { contact_id: "c".into(), from: 3, ascending: true, limit: 1 })
        .await
        .expect("items");
    assert_eq!(stored[0].json, item("c", 200).json, "the item itself keeps its own time");

    // After a restart the writer picks up the last stored time.
    drop(store);
    let store = SqliteStore::open(&dir.db()).expect("reopen");
    store.commit(items_batch("c", vec![item("e", 350)])).await.expect("commit");
    assert_eq!(store.locate("c", Locate::AtOrAfter(390)).await.expect("locate"), Some(4));
    assert_eq!(store.locate("c", Locate::AtOrAfter(401)).await.expect("locate"), None);
    assert_eq!(store.locate("c", Locate::AtOrBefore(10_000)).await.expect("locate"), Some(5));
}

/// Prefix reads are answered from memory until a write under the prefix, which they then see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_ranges_see_every_write() {
    let dir = TempDir::new("ranges");
    let store = SqliteStore::open(&dir.db()).expect("open");
    let range = |prefix: &'static str, limit: usize| {
        let store = &store;
        async move { store.records("live", prefix, limit).await.expect("records") }
    };
    assert!(range("c1/", 64).await.is_empty());
    assert!(range("c1/", 64).await.is_empty(), "second read, from the cache");
    let mut b = Batch::new("c1");
    b.records =
        vec![RecordWrite::set("live", "c1/idle/p1", "1"), RecordWrite::set("live", "c1/streams", "s")];
    store.commit(b).await.expect("commit");
    let want = vec![("c1/idle/p1".to_owned(), "1".to_owned()), ("c1/streams".to_owned(), "s".to_owned())];
    assert_eq!(range("c1/", 64).await, want);
    assert_eq!(range("c1/idle/", 64).await, want[..1].to_vec());
    assert_eq!(range("c1/", 1).await, want[..1].to_vec(), "a smaller limit from a cached answer");
    assert!(range("c2/", 64).await.is_empty());
    let mut b = Batch::new("c1");
    b.records = vec![RecordWrite::delete("live", "c1/idle/p1")];
    store.commit(b).await.expect("commit");
    assert_eq!(range("c1/", 64).await, want[1..].to_vec());
    assert!(range("c1/idle/", 64).await.is_empty());
    // Another kind with the same keys is apart.
    assert!(store.records("other", "c1/", 64).await.expect("records").is_empty());
}

/// A staged commit answers with its seqs, then says when it is durable; a replay of it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_commits_answer_then_become_durable() {
    let dir = TempDir::new("staged");
    let store = SqliteStore::open(&dir.db()).expect("open");
    let mut batch = items_batch("c", vec![item("a", 1)]);
    batch.idempotency = Some(("k".into(), "first".into()));
    let staged = store.commit_staged(batch.clone()).await.expect("staged");
    assert_eq!(staged.committed, Committed::Applied { seqs: vec![1] });
    assert_eq!(store.locate("c", Locate::Last).await.expect("locate"), Some(1), "visible once answered");
    staged.durable.wait().await.expect("durable");
    let again = store.commit_staged(batch).await.expect("replay");
    assert_eq!(again.committed, Committed::Replayed { response: "first".into() });
    again.durable.wait().await.expect("durable");
    store.close().await;
    assert!(store.commit_staged(items_batch("c", vec![item("b", 2)])).await.is_err());
    drop(store);
    let reopened = SqliteStore::open(&dir.db()).expect("reopen");
    assert_eq!(reopened.locate("c", Locate::Last).await.expect("locate"), Some(1));
}

/// A participant's leave and messages checked against it, all in flight at once (so sharing
/// transactions): every message accepted comes before the leave, none after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_see_earlier_batches_of_their_group() {
    let dir = TempDir::new("group-checks");
    let store = Arc::new(SqliteStore::open(&dir.db()).expect("open"));
    for round in 0..20 {
        let contact_id = format!("c{round}");
        let mut setup = Batch::new(contact_id.as_str());
        setup.contact = Some(contact(&contact_id));
        setup.participants.push(participant(&format!("p{round}"), &contact_id, Role::Customer));
        store.commit(setup).await.expect("setup");
        let mut handles = Vec::new();
        for i in 0..30 {
            let (store, contact_id) = (store.clone(), contact_id.clone());
            handles.push(tokio::spawn(async move {
                let mut b = items_batch(&contact_id, vec![item(&format!("m{i}"), i)]);
                b.checks = vec![Check::ContactActive, Check::ParticipantActive(format!("p{round}"))];
                if i == 10 {
                    let mut left = participant(&format!("p{round}"), &contact_id, Role::Customer);
                    left.left_at = Some(1);
                    b.participants.push(left);
                }
                (i, store.commit(b).await)
            }));
        }
        let mut leave_seq = None;
        let mut accepted = Vec::new();
        for h in handles {
            match h.await.expect("task") {
                (10, r) => leave_seq = Some(seqs(r.expect("the leave itself is checked before it"))[0]),
                (_, Ok(c)) => accepted.extend(seqs(c)),
                (_, Err(StoreError::CheckFailed(Check::ParticipantActive(_)))) => {}
                (i, Err(e)) => panic!("batch {i}: {e}"),
            }
        }
        let leave_seq = leave_seq.expect("leave");
        assert!(
            accepted.iter().all(|s| *s < leave_seq),
            "round {round}: {accepted:?} vs leave at {leave_seq}"
        );
    }
}

/// Idempotency records expire after `idempotency_retention`: a key older than that is new
/// again, younger ones still replay, and the expiry survives a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_records_expire_after_their_retention() {
    let dir = TempDir::new("expiry");
    let options =
        SqliteOptions { idempotency_retention: Duration::from_millis(300), ..SqliteOptions::default() };
    let keyed = |id: &str, key: &str| {
        let mut b = items_batch("c", vec![item(id, 1_000)]);
        b.idempotency = Some((key.into(), format!("answer for {key}")));
        b
    };
    {
        let store = SqliteStore::open_with(&dir.db(), options.clone()).expect("open");
        assert_eq!(seqs(store.commit(keyed("m1", "old")).await.expect("old")), vec![1]);
        tokio::time::sleep(Duration::from_millis(700)).await;
        // The writer looks for expired records between groups (after answering this one).
        assert_eq!(seqs(store.commit(keyed("m2", "young")).await.expect("young")), vec![2]);
        let waited = Instant::now();
        while store.stats().expired_keys == 0 && waited.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(store.stats().expired_keys, 1);
        assert_eq!(store.idempotent("old").await.expect("read"), None);
        assert_eq!(
            store.commit(keyed("m2-again", "young")).await.expect("replay"),
            Committed::Replayed { response: "answer for young".into() }
        );
        let mut again = keyed("m3", "old");
        again.idempotency = Some(("old".into(), "second answer for old".into()));
        assert_eq!(seqs(store.commit(again).await.expect("old is new again")), vec![3]);
    }
    let store = SqliteStore::open_with(&dir.db(), options).expect("reopen");
    assert_eq!(store.idempotent("old").await.expect("read").as_deref(), Some("second answer for old"));
    assert_eq!(store.idempotent("young").await.expect("read").as_deref(), Some("answer for young"));
    assert_eq!(all_items(&store, "c").await.len(), 3);
}
