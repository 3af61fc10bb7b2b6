//! The app under network cuts: two of the app's own network workers (each
//! feeding the app's model, no window) reach a real relay through a TCP proxy
//! that drops, resets or stalls their links at seeded random points, both
//! ways. Ana's worker must reconnect, send again what was not acked (the ids
//! make the relay keep each once) and Ben's must catch up with `since`: in the
//! end Ben holds every item exactly once, whole (byte-exact, SHA-256), in seq
//! order, and neither model shows an item twice or half.

mod support;

#[path = "../server/tests/common/faulty_proxy.rs"]
mod faulty_proxy;

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use snapwire::state::Event;
use support::member::Member;
use support::net::memory_relay;
use support::noisy_png;
use support::timeline::{Item, send, shown};

use faulty_proxy::{Count, Plan, Rng, start_proxy};

/// Ana's first three links strike, a drop, a reset and a stall, each 20-620 kB
/// into the link (so inside an image: her texts go first; past its first
/// 256 KiB chunk, the relay has begun streaming it to Ben, and a cut breaks
/// it off under his eyes); later links are left alone. More cuts in a row would only test the backoff's patience: after
/// three failed attempts it waits up to 8 s.
const ANA_PLAN: Plan = Plan {
    faulty: 3,
    always: 3,
    min_at: 20_000,
    spread: 600_000,
    websocket_only: false,
    count: Count::Both,
};

/// Ben's links strike later than any of Ana's first link can (past 700 kB), so
/// he is watching when her first upload breaks off; then his own cuts make him
/// catch up with `since`.
const BEN_PLAN: Plan = Plan {
    faulty: 3,
    always: 3,
    min_at: 700_000,
    spread: 400_000,
    websocket_only: false,
    count: Count::Both,
};

/// Texts and images (real PNGs of 20-690 kB: the relay checks signatures) drawn from `rng`.
fn items(rng: &mut Rng, count: usize) -> Vec<(String, Item)> {
    (0..count)
        .map(|i| {
            let id = format!("cut-{i}");
            let item = if rng.below(3) == 0 {
                Item::Text(format!("text {i}"))
            } else {
                let w = 80 + rng.below(400) as u32;
                let h = 80 + rng.below(400) as u32;
                Item::Image(Bytes::from(noisy_png(w, h, i as u32 + 1)))
            };
            (id, item)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_through_cut_links_delivers_everything_once_and_whole() {
    let seed = std::env::var("SNAPWIRE_APP_CUTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    eprintln!("app network cuts: seed {seed} (SNAPWIRE_APP_CUTS_SEED replays it)");
    let relay = memory_relay().await;
    // One proxy per client, so each client's faults follow from the seed
    // whatever order the two connect in.
    let (ana_proxy, ana_cuts) = start_proxy(relay.local_addr(), seed, ANA_PLAN).await;
    let (ben_proxy, ben_cuts) = start_proxy(relay.local_addr(), seed ^ 0x5bd1_e995, BEN_PLAN).await;
    let mut rng = Rng(seed ^ 0xabcdef);
    let items = items(&mut rng, 24);
    let bytes: usize = items.iter().map(|(_, item)| item.size()).sum();
    assert!(
        bytes as u64 > 3 * (ANA_PLAN.min_at + ANA_PLAN.spread) + 500_000,
        "enough for all of Ana's links to strike and Ben's first: {bytes} bytes"
    );

    // Ben is in the room first, so Ana's images stream to him live and her cuts
    // break streams he is watching.
    let mut ben = Member::spawn(ben_proxy, "Ben", 2);
    ben.welcomed().await;
    let mut ana = Member::spawn(ana_proxy, "Ana", 1);
    ana.welcomed().await;
    send(&mut ana, &items);

    // Every id acked, each with one seq, however often its link was cut.
    let mut acked: HashMap<String, u64> = HashMap::new();
    while acked.len() < items.len() {
        let (id, seq) = ana
            .until("the acks of every item", |e, _| match e {
                Event::Ack { id, seq, .. } => Some((id.clone(), *seq)),
                _ => None,
            })
            .await;
        if let Some(earlier) = acked.insert(id.clone(), seq) {
            assert_eq!(earlier, seq, "{id} acked twice with different seqs");
        }
    }
    // The last item: once Ben has it, he has had the chance to get any item twice.
    ana.send_text("cut-end", "the end");
    let end_seq = ana.acked("cut-end").await;
    acked.insert("cut-end".into(), end_seq);
    let mut sent: BTreeMap<u64, Item> = items
        .iter()
        .map(|(id, item)| (acked[id], item.clone()))
        .collect();
    sent.insert(end_seq, Item::Text("the end".into()));
    assert_eq!(sent.len(), items.len() + 1, "one seq per item");
    assert_eq!(sent.keys().max(), Some(&end_seq));

    ben.until("the last item", |e, _| {
        matches!(e, Event::Text { seq, .. } if *seq == end_seq).then_some(())
    })
    .await;

    // Ben's worker reported each item once (a replay after a cut would come again).
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for event in &ben.log {
        if let Event::Text { seq, .. } | Event::ImageComplete { seq, .. } = event {
            *seen.entry(*seq).or_default() += 1;
        }
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "items reported more than once: {:?}",
        seen.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );

    // Ben's timeline: every item, once, whole, in seq order, with Ana's content.
    let at_ben = shown("Ben", &ben.model);
    let seqs: Vec<u64> = at_ben.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        sent.keys().copied().collect::<Vec<_>>(),
        "each once, in seq order"
    );
    for (seq, item) in &at_ben {
        assert!(*item == sent[seq], "seq {seq}: not what Ana sent");
    }
    // No broken try left beside its whole copy, nothing streaming.
    assert_eq!(
        ben.model
            .entries
            .iter()
            .filter(|e| e.image().is_some())
            .count(),
        sent.values()
            .filter(|i| matches!(i, Item::Image(_)))
            .count(),
        "an image shown twice"
    );

    // Ana's timeline: her items, each once, acked, none replayed beside its
    // original. (In the order she sent them: her texts overtook her queued
    // images, so that is not seq order, and is not meant to be.)
    let mine = shown("Ana", &ana.model);
    let mut mine_seqs: Vec<u64> = mine.iter().map(|(seq, _)| *seq).collect();
    mine_seqs.sort_unstable();
    assert_eq!(
        mine_seqs,
        sent.keys().copied().collect::<Vec<_>>(),
        "Ana's own items each once"
    );
    for (seq, item) in &mine {
        assert!(*item == sent[seq], "Ana's seq {seq}");
    }
    for (id, seq) in &acked {
        let entry = ana.model.by_local_id(id).expect("Ana's entry of her item");
        assert_eq!(entry.seq, Some(*seq), "{id}");
    }

    let broken = ben
        .log
        .iter()
        .filter(|e| matches!(e, Event::ImageCancel { .. }))
        .count();
    eprintln!("app network cuts: Ben saw {broken} images broken off and sent again");
    let (a, b) = (ana_cuts.counts(), ben_cuts.counts());
    eprintln!(
        "app network cuts: Ana's links {} drops, {} resets, {} stalls; Ben's {} drops, {} resets, {} stalls",
        a.0, a.1, a.2, b.0, b.1, b.2
    );
    assert!(
        a.0 + a.1 + a.2 == 3,
        "each of Ana's first three links struck: {a:?}"
    );
    assert!(
        b.0 + b.1 + b.2 >= 1,
        "Ben's links struck too (he receives everything): {b:?}"
    );
    drop((ana, ben));
    relay.shutdown().await.expect("shutdown");
}
