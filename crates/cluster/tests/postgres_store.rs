//! The PostgreSQL store against the real server on 127.0.0.1:5432, each test in a fresh
//! schema: the semantics of the SQLite store's tests, and what many nodes add (two stores
//! on one schema are two nodes).

mod common;

use confab_cluster::{PostgresOptions, PostgresStore};
use confab_ports::{
    Batch, Check, Committed, Contact, ItemQuery, Locate, NewItem, NewOutbox, Participant, Receipt,
    RecordRange, RecordWrite, Role, Store, StoreError, StoredItem, Timer,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A fresh schema, dropped by [`TestDb::drop`] at the end of a test that passed (a failed
/// test leaves it behind to look at).
struct TestDb {
    schema: String,
}

impl TestDb {
    fn new(tag: &str) -> Option<TestDb> {
        if !common::listening("PostgreSQL", common::POSTGRES_ADDR) {
            return None;
        }
        Some(TestDb { schema: common::unique(&format!("confab_t_{tag}")) })
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres@{}/postgres?schema={}&application_name={}",
            common::POSTGRES_ADDR,
            self.schema,
            self.schema
        )
    }

    async fn store(&self) -> PostgresStore {
        PostgresStore::connect(&self.url()).await.expect("connect")
    }

    async fn store_with(&self, options: PostgresOptions) -> PostgresStore {
        PostgresStore::connect_with(&self.url(), options).await.expect("connect")
    }

    async fn admin(&self) -> tokio_postgres::Client {
        let url = format!("postgres://postgres@{}/postgres", common::POSTGRES_ADDR);
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("admin");
        tokio::spawn(connection);
        client
    }

    async fn drop(self) {
        let admin = self.admin().await;
        admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .await
            .expect("drop schema");
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
        details: serde_json::json!({"Attributes": {"z": "b", "a": "c"}, "CustomerId": null, "n": [1, 2]}),
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

async fn all_items(store: &PostgresStore, contact_id: &str) -> Vec<StoredItem> {
    store
        .items(ItemQuery { contact_id: contact_id.into(), from: 1, ascending: true, limit: usize::MAX })
        .await
        .expect("items")
}

/// `tasks` committers on `stores` (round robin), each appending `per_task` items one batch at
/// a time to `contacts` contacts; checks every contact's transcript is gap-free and matches
/// the seqs answered. Returns the commits per second.
async fn hammer(stores: &[Arc<PostgresStore>], tasks: usize, per_task: usize, contacts: usize) -> f64 {
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let store = stores[t % stores.len()].clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..per_task {
                let contact_id = format!("contact-{}", (t + i) % contacts);
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
    let rate = (tasks * per_task) as f64 / started.elapsed().as_secs_f64();
    let mut seen = 0;
    for c in 0..contacts {
        let contact_id = format!("contact-{c}");
        let items = all_items(&stores[0], &contact_id).await;
        let expected: Vec<u64> = (1..=items.len() as u64).collect();
        assert_eq!(items.iter().map(|i| i.seq).collect::<Vec<_>>(), expected, "gap-free per contact");
        let answers = &answered[&contact_id];
        assert_eq!(answers.len(), items.len());
        for i in &items {
            assert_eq!(answers[&i.seq], i.id, "stored seq matches the answered one");
        }
        seen += items.len();
        assert_eq!(
            stores[0].locate(&contact_id, Locate::Last).await.expect("locate"),
            Some(items.len() as u64)
        );
    }
    assert_eq!(seen, tasks * per_task);
    rate
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_committers_get_gap_free_seqs_with_group_commit() {
    let Some(db) = TestDb::new("concurrent") else { return };
    let store = Arc::new(db.store().await);
    let rate = hammer(std::slice::from_ref(&store), 200, 25, 10).await;
    let stats = store.stats();
    println!("200 committers, 5000 batches: {rate:.0} commits/s, {stats:?}");
    assert_eq!((stats.batches, stats.applied), (5_000, 5_000));
    assert!(stats.groups < stats.batches, "no group commit happened: {stats:?}");
    assert_eq!(stats.redone, 0, "groups whose batches all apply go without savepoints: {stats:?}");
    drop(store);
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_share_gap_free_seqs() {
    let Some(db) = TestDb::new("two_nodes") else { return };
    // Both connect at once to a fresh schema: the migrations run once.
    let (a, b) = tokio::join!(db.store(), db.store());
    let nodes = [Arc::new(a), Arc::new(b)];
    let rate = hammer(&nodes, 200, 20, 10).await;
    let (sa, sb) = (nodes[0].stats(), nodes[1].stats());
    println!("two nodes, 200 committers, 4000 batches: {rate:.0} commits/s; a {sa:?}; b {sb:?}");
    assert_eq!(sa.applied + sb.applied, 4_000);
    assert!(sa.applied > 0 && sb.applied > 0);
    drop(nodes);
    db.drop().await;
}

/// Throughput with group commit (the default) and without (one transaction per batch, as
/// many in flight as the pool allows): printed, for the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throughput_with_and_without_group_commit() {
    let Some(db) = TestDb::new("throughput") else { return };
    let grouped = Arc::new(db.store().await);
    let with = hammer(std::slice::from_ref(&grouped), 200, 10, 10).await;
    let stats = grouped.stats();
    drop(grouped);
    let db2 = TestDb::new("throughput2").expect("postgres");
    let single = Arc::new(
        db2.store_with(PostgresOptions {
            pool_size: 32,
            committers: 16,
            max_group: 1,
            ..PostgresOptions::default()
        })
        .await,
    );
    let without = hammer(std::slice::from_ref(&single), 200, 10, 10).await;
    let single_stats = single.stats();
    println!(
        "group commit: {with:.0} commits/s ({} transactions for {} batches); \
         one transaction per batch, 16 in flight: {without:.0} commits/s ({} retries)",
        stats.groups, stats.batches, single_stats.retries
    );
    assert_eq!(single_stats.largest_group, 1);
    drop(single);
    db.drop().await;
    db2.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_check_is_rolled_back_alone_within_a_group() {
    let Some(db) = TestDb::new("checks") else { return };
    let store = Arc::new(db.store().await);
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
            b.outbox.push(NewOutbox { stream: format!("s{i}"), payload: "x".into() });
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
    assert!(stats.redone > 0, "a group with a failing batch is run again with savepoints: {stats:?}");

    let items = all_items(&store, "c").await;
    assert_eq!(items.len(), 200);
    assert!(items.iter().all(|it| it.id.trim_start_matches('m').parse::<u64>().expect("id") % 3 != 0));
    let due = store.due_timers(10, 1_000).await.expect("timers");
    assert_eq!(due.len(), 200);
    assert!(due.iter().all(|t| t.key.trim_start_matches('t').parse::<u64>().expect("key") % 3 != 0));
    let all_ids: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    assert_eq!(store.receipts("c", &all_ids).await.expect("receipts").len(), 200);
    assert_eq!(store.outbox_due(0, 1_000).await.expect("outbox").len(), 200);

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
    drop(store);
    db.drop().await;
}

/// Records older than the retention are deleted (by every node, once a minute): a key then
/// counts as new again, as in the embedded store; younger records stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_records_expire_after_their_retention() {
    let Some(db) = TestDb::new("idemexp") else { return };
    let store = db.store().await;
    for (key, item_id) in [("old", "a"), ("young", "b")] {
        let mut b = items_batch("c", vec![item(item_id, 1)]);
        b.idempotency = Some((key.into(), format!("response {key}")));
        store.commit(b).await.expect("commit");
    }
    let admin = db.admin().await;
    admin
        .execute(
            &format!(
                "UPDATE {}.idempotency SET created_at = now() - interval '3 days' WHERE key = 'old'",
                db.schema
            ),
            &[],
        )
        .await
        .expect("age a record");
    assert_eq!(store.expire_idempotency().await.expect("expire"), 1);
    assert_eq!(store.idempotent("old").await.expect("idempotent"), None);
    assert_eq!(store.idempotent("young").await.expect("idempotent").as_deref(), Some("response young"));
    // The expired key is new again: its batch applies.
    let mut again = items_batch("c", vec![item("c", 2)]);
    again.idempotency = Some(("old".into(), "second".into()));
    assert_eq!(seqs(store.commit(again).await.expect("again")), vec![3]);
    assert_eq!(store.expire_idempotency().await.expect("expire"), 0);
    store.close().await;
    db.drop().await;
}

/// Nobody has to call the expiry: each store runs it by itself (once per retention period
/// when that is shorter than a minute, as here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_expires_idempotency_records_by_itself() {
    let Some(db) = TestDb::new("idemauto") else { return };
    let options =
        PostgresOptions { idempotency_retention: Duration::from_secs(1), ..PostgresOptions::default() };
    let store = db.store_with(options).await;
    let mut b = items_batch("c", vec![item("a", 1)]);
    b.idempotency = Some(("k".into(), "response".into()));
    store.commit(b).await.expect("commit");
    assert_eq!(store.idempotent("k").await.expect("idempotent").as_deref(), Some("response"));
    let waited = Instant::now();
    while store.idempotent("k").await.expect("idempotent").is_some() {
        assert!(waited.elapsed() < Duration::from_secs(10), "the record was never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    store.close().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_replay_applies_nothing() {
    let Some(db) = TestDb::new("idem") else { return };
    let store = db.store().await;
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
    // A replayed batch whose items would clash answers the replay, not the clash.
    let mut clash = items_batch("c", vec![item("a", 1)]);
    clash.idempotency = Some(("k1".into(), "x".into()));
    assert!(matches!(store.commit(clash).await, Ok(Committed::Replayed { .. })));

    // A batch that fails does not record its key.
    let mut failing = Batch::new("c");
    failing.checks.push(Check::ParticipantActive("nobody".into()));
    failing.idempotency = Some(("k2".into(), "r2".into()));
    assert!(store.commit(failing).await.is_err());
    assert_eq!(store.idempotent("k2").await.expect("idempotent"), None);
    // The same with items (checks, key and items go as one statement): the failed check is
    // named, and it wins over a known key, as in SQLite.
    let mut failing = items_batch("c", vec![item("f1", 4)]);
    failing.checks = vec![Check::ContactActive, Check::ParticipantActive("nobody".into())];
    failing.idempotency = Some(("k2".into(), "r2".into()));
    assert!(matches!(
        store.commit(failing).await,
        Err(StoreError::CheckFailed(Check::ParticipantActive(p))) if p == "nobody"
    ));
    assert_eq!(store.idempotent("k2").await.expect("idempotent"), None);
    let mut known = items_batch("c", vec![item("f2", 4)]);
    known.checks = vec![Check::ParticipantActive("nobody".into())];
    known.idempotency = Some(("k1".into(), "x".into()));
    assert!(matches!(store.commit(known).await, Err(StoreError::CheckFailed(_))));
    let mut known = items_batch("c", vec![item("f3", 4)]);
    known.checks = vec![Check::ContactActive];
    known.idempotency = Some(("k1".into(), "x".into()));
    assert!(matches!(store.commit(known).await, Ok(Committed::Replayed { .. })));
    let mut fresh = items_batch("c", vec![item("f4", 4)]);
    fresh.checks = vec![Check::ContactActive];
    fresh.idempotency = Some(("k4".into(), "r4".into()));
    assert_eq!(seqs(store.commit(fresh).await.expect("checked, keyed items")), vec![2]);
    assert_eq!(store.idempotent("k4").await.expect("idempotent").as_deref(), Some("r4"));

    // The same new key from two nodes at once (and twice in one group): one applies, the
    // others replay it.
    let node_b = Arc::new(db.store().await);
    let store = Arc::new(store);
    let mut handles = Vec::new();
    for i in 0..6 {
        let node = if i % 2 == 0 { store.clone() } else { node_b.clone() };
        handles.push(tokio::spawn(async move {
            let mut b = items_batch("c", vec![item(&format!("x{i}"), 3)]);
            b.idempotency = Some(("k3".into(), format!("r3-{i}")));
            node.commit(b).await.expect("commit")
        }));
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.expect("task"));
    }
    assert_eq!(outcomes.iter().filter(|c| matches!(c, Committed::Applied { .. })).count(), 1, "{outcomes:?}");
    let recorded = store.idempotent("k3").await.expect("idem").expect("recorded");
    assert_eq!(
        outcomes.iter().filter(|c| **c == Committed::Replayed { response: recorded.clone() }).count(),
        5
    );
    assert_eq!(all_items(&store, "c").await.len(), 3);
    drop((store, node_b));
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_keeps_everything_and_seq_continues() {
    let Some(db) = TestDb::new("reopen") else { return };
    {
        let store = db.store().await;
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
        store.close().await;
        assert!(store.commit(Batch::new("c")).await.is_err(), "closed");
        assert!(store.contact("c").await.expect("reads still work").is_some());
    }
    let store = db.store().await;
    assert_eq!(store.schema(), Some(db.schema.as_str()));
    // Contact details come back verbatim, member order included.
    assert_eq!(store.contact("c").await.expect("contact"), Some(contact("c")));
    let details = store.contact("c").await.expect("contact").expect("exists").details.to_string();
    assert_eq!(details, contact("c").details.to_string());
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
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locate_and_items_both_ways() {
    let Some(db) = TestDb::new("locate") else { return };
    let store = db.store().await;
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
    assert_eq!(
        (one[0].id.as_str(), one[0].at, one[0].json.as_str()),
        ("i4", 400, item("i4", 400).json.as_str())
    );

    // A duplicate item id in the same contact is refused, and takes no seq.
    let r = store.commit(items_batch("c", vec![item("new", 2000), item("i1", 2000)])).await;
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    assert_eq!(
        seqs(store.commit(items_batch("c", vec![item("i11", 1100)])).await.expect("commit")),
        vec![11]
    );
    drop(store);
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_merge_first_timestamp_wins() {
    let Some(db) = TestDb::new("receipts") else { return };
    let store = db.store().await;
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
    // Twice in one batch: merged as two upserts would be.
    commit(vec![receipt("m3", "a", None, Some(7)), receipt("m3", "a", Some(8), Some(9))]).await;

    let got = store
        .receipts("c", &["m1".into(), "m2".into(), "m4".into(), "m1".into(), "m3".into()])
        .await
        .expect("receipts");
    assert_eq!(
        got,
        vec![
            receipt("m1", "a", Some(10), Some(21)),
            receipt("m1", "b", Some(13), Some(12)),
            receipt("m2", "a", None, Some(50)),
            receipt("m3", "a", Some(8), Some(7)),
        ]
    );
    assert_eq!(store.receipts("c", &[]).await.expect("receipts"), vec![]);
    assert_eq!(store.receipts("c", &["m2".into()]).await.expect("receipts").len(), 1);
    drop(store);
    db.drop().await;
}

fn timer(key: &str, due: i64) -> Timer {
    Timer { key: key.into(), contact_id: "c".into(), due, kind: format!("kind-{key}") }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_set_move_cancel_due() {
    let Some(db) = TestDb::new("timers") else { return };
    let store = db.store().await;
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
    assert_eq!(store.due_timers(200, 10).await.expect("due").len(), 3);

    // Move b later, cancel c, and cancel an unknown key (no error); the same key twice in
    // one batch: the last wins.
    let mut b = Batch::new("c");
    b.set_timers = vec![timer("b", 5), timer("b", 1_000)];
    b.cancel_timers = vec!["c".into(), "unknown".into()];
    store.commit(b).await.expect("move and cancel");
    assert_eq!(store.next_timer().await.expect("next"), Some(200));
    assert_eq!(store.due_timers(500, 10).await.expect("due"), vec![timer("d", 200), timer("a", 300)]);
    // Set and cancelled in one batch: cancelled.
    let mut b = Batch::new("c");
    b.set_timers = vec![timer("e", 1)];
    b.cancel_timers = vec!["a".into(), "b".into(), "d".into(), "e".into()];
    store.commit(b).await.expect("cancel all");
    assert_eq!(store.next_timer().await.expect("next"), None);
    drop(store);
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_leases_are_taken_over_after_expiry() {
    let Some(db) = TestDb::new("timer_leases") else { return };
    let (a, b) = (db.store().await, db.store().await);
    let mut batch = Batch::new("c");
    batch.set_timers = vec![timer("t1", 100), timer("t2", 150), timer("t3", 900)];
    a.commit(batch).await.expect("set");

    // Node a claims what is due at 200 until 30 200.
    assert_eq!(
        a.claim_timers(200, 10, 30_200).await.expect("claim"),
        vec![timer("t1", 100), timer("t2", 150)]
    );
    // Node b, and a again, get none of them while the lease holds; plain reads still see them.
    assert_eq!(b.claim_timers(200, 10, 30_200).await.expect("claim"), vec![]);
    assert_eq!(b.claim_timers(30_199, 10, 60_000).await.expect("claim"), vec![timer("t3", 900)]);
    assert_eq!(a.due_timers(200, 10).await.expect("due").len(), 2);
    // The earliest a timer can be claimed again.
    assert_eq!(b.next_timer().await.expect("next"), Some(30_200));
    // Node a died: at the end of its lease node b takes the timers over.
    assert_eq!(b.claim_timers(30_200, 1, 60_000).await.expect("claim"), vec![timer("t1", 100)]);
    assert_eq!(b.claim_timers(30_200, 10, 60_000).await.expect("claim"), vec![timer("t2", 150)]);
    // Setting a timer again drops its lease; cancelling removes it.
    let mut batch = Batch::new("c");
    batch.set_timers = vec![timer("t1", 40_000)];
    batch.cancel_timers = vec!["t2".into()];
    b.commit(batch).await.expect("reset");
    assert_eq!(a.claim_timers(40_000, 10, 70_000).await.expect("claim"), vec![timer("t1", 40_000)]);
    assert_eq!(a.next_timer().await.expect("next"), Some(60_000));

    // Many claimers at once: each due timer goes to exactly one.
    let mut batch = Batch::new("c");
    batch.set_timers = (0..200).map(|i| timer(&format!("m{i:03}"), 50_000)).collect();
    a.commit(batch).await.expect("set many");
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut handles = Vec::new();
    for i in 0..8 {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let claimed = node.claim_timers(50_000, 7, 90_000).await.expect("claim");
                if claimed.is_empty() {
                    return got;
                }
                got.extend(claimed.into_iter().map(|t| t.key));
            }
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("task"));
    }
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!((all.len(), unique.len()), (200, 200), "each timer claimed once");
    drop((a, b));
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_and_participants_are_read_fresh_on_every_node() {
    let Some(db) = TestDb::new("fresh") else { return };
    let (a, b) = (Arc::new(db.store().await), Arc::new(db.store().await));
    assert_eq!(b.contact("c").await.expect("contact"), None);
    let mut batch = Batch::new("c");
    batch.contact = Some(contact("c"));
    batch.participants = vec![participant("p", "c", Role::Customer), participant("q", "c", Role::Agent)];
    a.commit(batch).await.expect("create");
    // Written on a, read on b at once.
    assert_eq!(b.contact("c").await.expect("contact"), Some(contact("c")));
    assert_eq!(b.participant("p").await.expect("participant"), Some(participant("p", "c", Role::Customer)));
    let ids: Vec<String> =
        b.participants("c").await.expect("participants").into_iter().map(|p| p.id).collect();
    assert_eq!(ids, ["p", "q"]);
    // A participant with its contact, in one read: only when it belongs to that contact.
    let no_records = RecordRange { kind: "live", prefix: "c/", limit: 64 };
    let both = |p: &'static str, c: &'static str| {
        let b = b.clone();
        async move {
            let read = b.participant_in_with_records(p, c, no_records).await.expect("participant_in");
            read.map(|r| (r.participant, r.contact))
        }
    };
    assert_eq!(both("q", "c").await, Some((participant("q", "c", Role::Agent), contact("c"))));
    let mut other = Batch::new("d");
    other.contact = Some(contact("d"));
    a.commit(other).await.expect("contact d");
    assert_eq!(both("q", "d").await, None);
    assert_eq!(both("ghost", "c").await, None);
    assert_eq!(both("q", "nope").await, None);
    // With the contact's records of a kind under a prefix, in the same read.
    let mut live = Batch::new("c");
    for (kind, key) in [("live", "c/timers"), ("live", "c/streams"), ("live", "c%/x"), ("other", "c/y")] {
        live.records.push(RecordWrite {
            kind: kind.into(),
            key: key.into(),
            value: Some(format!("{kind}:{key}")),
        });
    }
    a.commit(live).await.expect("records");
    let range = RecordRange { kind: "live", prefix: "c/", limit: 64 };
    let read = b.participant_in_with_records("q", "c", range).await.expect("read").expect("found");
    assert_eq!((read.participant.id.as_str(), read.contact.id.as_str()), ("q", "c"));
    let expected = [("c/streams", "live:c/streams"), ("c/timers", "live:c/timers")];
    assert_eq!(read.records, expected.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec());
    let one = RecordRange { limit: 1, ..range };
    assert_eq!(
        b.participant_in_with_records("q", "c", one).await.expect("read").expect("found").records.len(),
        1
    );
    let none = RecordRange { prefix: "d/", ..range };
    assert_eq!(
        b.participant_in_with_records("q", "c", none).await.expect("read").expect("found").records,
        []
    );
    assert_eq!(b.participant_in_with_records("q", "d", range).await.expect("read"), None);

    // A rolled-back batch is seen nowhere.
    let mut bad = Batch::new("c");
    let mut changed = contact("c");
    changed.ended_at = Some(5);
    bad.contact = Some(changed);
    let mut left = participant("p", "c", Role::Customer);
    left.left_at = Some(5);
    bad.participants.push(left.clone());
    bad.checks.push(Check::ParticipantActive("ghost".into()));
    assert!(a.commit(bad).await.is_err());
    assert_eq!(b.contact("c").await.expect("contact"), Some(contact("c")));

    // Node b's check sees node a's commit: after p left on a, b cannot send as p.
    let mut leave = Batch::new("c");
    leave.participants.push(left.clone());
    a.commit(leave).await.expect("leave");
    assert_eq!(b.participant("p").await.expect("participant"), Some(left));
    let mut send = items_batch("c", vec![item("late", 1)]);
    send.checks.push(Check::ParticipantActive("p".into()));
    assert!(matches!(b.commit(send).await, Err(StoreError::CheckFailed(_))));

    // Readers on b racing updates on a never see an older value after a newer one.
    let writer = {
        let a = a.clone();
        tokio::spawn(async move {
            for i in 1..=100 {
                let mut batch = Batch::new("c");
                let mut c = contact("c");
                c.expires_at = i;
                batch.contact = Some(c);
                a.commit(batch).await.expect("update");
            }
        })
    };
    let mut readers = Vec::new();
    for _ in 0..3 {
        let b = b.clone();
        readers.push(tokio::spawn(async move {
            let mut last = i64::MIN;
            loop {
                let c = b.contact("c").await.expect("contact").expect("exists");
                let v = if c.expires_at > 1_000 { 0 } else { c.expires_at };
                assert!(v >= last, "went back from {last} to {v}");
                last = v;
                if v == 100 {
                    break;
                }
            }
        }));
    }
    writer.await.expect("writer");
    for r in readers {
        r.await.expect("reader");
    }
    drop((a, b));
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_compare_and_set_and_prefix_listing() {
    let Some(db) = TestDb::new("records") else { return };
    let store = db.store().await;
    let mut b = Batch::new("");
    b.records = vec![
        RecordWrite::set("view", "i1/a", "1"),
        RecordWrite::set("view", "i1/b", "2"),
        RecordWrite::set("view", "i2/a", "3"),
        RecordWrite::set("view", "i1%_", "4"),
        RecordWrite::set("other", "i1/c", "5"),
        RecordWrite::set("view", "I1/B", "6"),
    ];
    store.commit(b).await.expect("set");
    assert_eq!(store.record("view", "i1/b").await.expect("get"), Some("2".into()));
    let listed = store.records("view", "i1/", 10).await.expect("list");
    assert_eq!(listed, vec![("i1/a".to_owned(), "1".to_owned()), ("i1/b".to_owned(), "2".to_owned())]);
    assert_eq!(store.records("view", "i1/", 1).await.expect("list").len(), 1);
    // Byte order, as SQLite: upper case first.
    let keys: Vec<String> =
        store.records("view", "", 10).await.expect("list").into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["I1/B", "i1%_", "i1/a", "i1/b", "i2/a"]);
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
    // Set then deleted in one batch: deleted; deleted then set: set.
    let mut b = Batch::new("");
    b.records =
        vec![RecordWrite::set("k", "a", "1"), RecordWrite::delete("k", "a"), RecordWrite::delete("k", "b")];
    b.records.push(RecordWrite::set("k", "b", "2"));
    store.commit(b).await.expect("both");
    assert_eq!(
        (store.record("k", "a").await.expect("a"), store.record("k", "b").await.expect("b")),
        (None, Some("2".into()))
    );

    // Create-if-absent from many tasks on two nodes: exactly one wins.
    let node_b = Arc::new(db.store().await);
    let store = Arc::new(store);
    let mut handles = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 { store.clone() } else { node_b.clone() };
        handles.push(tokio::spawn(async move {
            let mut b = Batch::new(format!("c{i}"));
            b.checks.push(Check::RecordIs { kind: "lock".into(), key: "one".into(), value: None });
            b.records.push(RecordWrite::set("lock", "one", format!("owner {i}")));
            node.commit(b).await.is_ok()
        }));
    }
    let mut winners = 0;
    for h in handles {
        winners += usize::from(h.await.expect("task"));
    }
    assert_eq!(winners, 1);
    drop((store, node_b));
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_hands_out_the_head_of_each_stream_in_order() {
    let Some(db) = TestDb::new("outbox") else { return };
    let store = db.store().await;
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
    drop(store);
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_leases_hold_a_stream_and_expire() {
    let Some(db) = TestDb::new("outbox_leases") else { return };
    let (a, b) = (db.store().await, db.store().await);
    let mut batch = Batch::new("c");
    for (stream, payload) in [("s1", "a"), ("s2", "x"), ("s1", "b"), ("s3", "p")] {
        batch.outbox.push(NewOutbox { stream: stream.into(), payload: payload.into() });
    }
    a.commit(batch).await.expect("queue");
    let payloads =
        |entries: &[confab_ports::OutboxEntry]| entries.iter().map(|e| e.payload.clone()).collect::<Vec<_>>();

    // a claims two heads; b gets the third, and never s1's second while s1's head is leased.
    let claimed = a.claim_outbox(0, 2, 10_000).await.expect("claim");
    assert_eq!(payloads(&claimed), ["a", "x"]);
    assert_eq!(payloads(&b.claim_outbox(0, 10, 10_000).await.expect("claim")), ["p"]);
    assert!(b.claim_outbox(9_999, 10, 20_000).await.expect("claim").is_empty());
    // The plain read still shows every due head.
    assert_eq!(payloads(&b.outbox_due(0, 10).await.expect("due")), ["a", "x", "p"]);
    // a delivered x, then died holding a: at the end of the lease b takes s1 over.
    let mut done = Batch::new("c");
    done.outbox_done.push(claimed[1].id);
    a.commit(done).await.expect("done");
    let taken = b.claim_outbox(10_000, 10, 20_000).await.expect("claim");
    assert_eq!(payloads(&taken), ["a", "p"]);
    // A retry drops the lease: due again at its not-before, with one attempt more.
    let mut retry = Batch::new("c");
    retry.outbox_retry.push((taken[0].id, 15_000));
    b.commit(retry).await.expect("retry");
    assert!(a.claim_outbox(14_999, 10, 30_000).await.expect("claim").is_empty());
    let again = a.claim_outbox(15_000, 10, 30_000).await.expect("claim");
    assert_eq!((payloads(&again), again[0].attempts), (vec!["a".to_owned()], 1));
    let mut done = Batch::new("c");
    done.outbox_done.push(again[0].id);
    a.commit(done).await.expect("done");
    assert_eq!(payloads(&b.claim_outbox(15_000, 10, 30_000).await.expect("claim")), ["b"]);
    drop((a, b));
    db.drop().await;
}

/// Connections killed under load (a PostgreSQL restart, a proxy dropping them): commits are
/// retried whole, and a commit whose connection died during COMMIT is answered as what it
/// became; the seqs stay gap-free and every answered item is there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_connections_are_retried_without_gaps_or_doubles() {
    let Some(db) = TestDb::new("killed") else { return };
    let store = Arc::new(db.store().await);
    let admin = db.admin().await;
    let killer = {
        let app = db.schema.clone();
        tokio::spawn(async move {
            let mut killed = 0;
            for _ in 0..15 {
                tokio::time::sleep(std::time::Duration::from_millis(40)).await;
                let rows = admin
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1 AND pid <> pg_backend_pid()",
                        &[&app],
                    )
                    .await
                    .expect("terminate");
                killed += rows.len();
            }
            killed
        })
    };
    let rate = hammer(std::slice::from_ref(&store), 50, 20, 5).await;
    let killed = killer.await.expect("killer");
    let stats = store.stats();
    println!("with {killed} connections killed: {rate:.0} commits/s, {stats:?}");
    assert_eq!(stats.applied, 1_000);
    store.health().await.expect("healthy again");
    drop(store);
    db.drop().await;
}
