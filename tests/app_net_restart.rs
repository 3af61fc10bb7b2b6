//! A relay restarted under 20 of the app's network workers (each feeding the
//! app's model, no window) in one room with history on disk: the relay stops
//! cleanly (as on SIGTERM), comes back on the same port with the same data
//! directory, and every worker is back in the room within its backoff, with
//! every item, those sent before the stop and those queued during it, once.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use bytes::Bytes;
use snapwire::state::{Event, Model};
use support::member::Member;
use support::net::{disk, start_relay};
use support::noisy_png;
use support::timeline::{Item, send, shown};

const MEMBERS: u8 = 20;

/// Member `m`'s items: a text, and a small real PNG from every other member.
fn item_of(m: u8, phase: &str) -> Vec<(String, Item)> {
    let mut items = vec![(
        format!("{phase}-text-{m}"),
        Item::Text(format!("{phase}: a word from member {m}")),
    )];
    if m.is_multiple_of(2) {
        let png = noisy_png(60 + u32::from(m) * 3, 50, u32::from(m) + 100);
        items.push((format!("{phase}-image-{m}"), Item::Image(Bytes::from(png))));
    }
    items
}

/// Until every id in `ids` is acked (in the model: an ack may have come
/// while the test waited for something else); the seqs.
async fn acks(member: &mut Member, ids: &[String]) -> HashMap<String, u64> {
    let seq_of = |model: &Model, id: &str| model.by_local_id(id).and_then(|e| e.seq);
    member
        .until_model("the acks of its items", |model| {
            ids.iter().all(|id| seq_of(model, id).is_some())
        })
        .await;
    ids.iter()
        .filter_map(|id| Some((id.clone(), seq_of(&member.model, id)?)))
        .collect()
}

/// (seq, item) of every text and image in the timeline, sorted by seq; panics
/// on anything half there or shown twice.
fn holdings(who: &str, model: &Model) -> BTreeMap<u64, Item> {
    let mut held = BTreeMap::new();
    for (seq, item) in shown(who, model) {
        assert!(held.insert(seq, item).is_none(), "{who}: seq {seq} twice");
    }
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_app_clients_come_back_after_a_relay_restart_with_nothing_lost_or_doubled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let relay = start_relay("127.0.0.1:0".parse().expect("addr"), disk(dir.path())).await;
    let addr = relay.local_addr();
    let mut members: Vec<Member> = (1..=MEMBERS)
        .map(|n| Member::spawn(addr, &format!("M{n:02}"), n))
        .collect();
    for member in &mut members {
        member.welcomed().await;
    }

    // Before the stop: five members send, and know it arrived (their acks).
    let mut sent: HashMap<String, Item> = HashMap::new();
    let mut seqs: HashMap<String, u64> = HashMap::new();
    for (i, member) in members.iter_mut().enumerate().take(5) {
        let items = item_of(i as u8, "before");
        send(member, &items);
        let ids: Vec<String> = items.iter().map(|(id, _)| id.clone()).collect();
        seqs.extend(acks(member, &ids).await);
        sent.extend(items);
    }

    // The relay stops as on SIGTERM: every worker hears it and starts backing off.
    relay.shutdown().await.expect("shutdown");
    for member in &mut members {
        member
            .until("reconnecting after the stop", |e, _| {
                matches!(e, Event::Reconnecting { .. }).then_some(())
            })
            .await;
    }
    // While it is down, five others send: their items wait in their workers.
    let mut queued: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, member) in members.iter_mut().enumerate().skip(5).take(5) {
        let items = item_of(i as u8, "during");
        send(member, &items);
        queued.push((i, items.iter().map(|(id, _)| id.clone()).collect()));
        sent.extend(items);
    }

    // The same port, the same data directory.
    let relay = start_relay(addr, disk(dir.path())).await;
    let back = Instant::now();
    let mut slowest = std::time::Duration::ZERO;
    let mut most_attempts = 0;
    for member in &mut members {
        member
            .until("the welcome after the restart", |e, _| match e {
                Event::Connecting { attempt } => {
                    most_attempts = most_attempts.max(*attempt);
                    None
                }
                Event::Welcome(_) => Some(()),
                _ => None,
            })
            .await;
        slowest = slowest.max(back.elapsed());
    }
    eprintln!(
        "relay restart: {MEMBERS} clients back within {slowest:?} of the restart (highest attempt number {most_attempts})"
    );
    // Back in the room: everyone sees the 19 others.
    for member in &mut members {
        member
            .until_model("all 19 others in the room", |model| {
                model.peers.len() >= usize::from(MEMBERS) - 1
            })
            .await;
        assert!(member.connected(), "{}", member.name);
    }

    for (i, ids) in &queued {
        seqs.extend(acks(&mut members[*i], ids).await);
    }
    // The last item: whoever holds it has had every chance to get one twice.
    members[0].send_text("the-end", "the end");
    let end_seq = members[0].acked("the-end").await;
    seqs.insert("the-end".into(), end_seq);
    sent.insert("the-end".into(), Item::Text("the end".into()));
    let by_seq: BTreeMap<u64, Item> = sent
        .iter()
        .map(|(id, item)| (seqs[id], item.clone()))
        .collect();
    assert_eq!(by_seq.len(), sent.len(), "one seq per item");

    for member in members.iter_mut().skip(1) {
        member
            .until_model("the last item", |model| model.by_seq(end_seq).is_some())
            .await;
    }
    for member in &members {
        let mut reported: BTreeMap<u64, usize> = BTreeMap::new();
        for event in &member.log {
            if let Event::Text { seq, .. } | Event::ImageComplete { seq, .. } = event {
                *reported.entry(*seq).or_default() += 1;
            }
        }
        assert!(
            reported.values().all(|n| *n == 1),
            "{}: items reported twice: {reported:?}",
            member.name
        );
        let held = holdings(&member.name, &member.model);
        assert_eq!(
            held.keys().collect::<Vec<_>>(),
            by_seq.keys().collect::<Vec<_>>(),
            "{}: every item once",
            member.name
        );
        for (seq, item) in &held {
            assert!(
                *item == by_seq[seq],
                "{}: seq {seq} is not what was sent",
                member.name
            );
        }
        // Order is not checked here: with several senders at once, an image
        // keeps the place where it began to stream, before texts that were
        // numbered while it streamed (tests/app_net_cuts.rs checks seq order
        // with one sender).
    }
    drop(members);
    relay.shutdown().await.expect("shutdown");
}
