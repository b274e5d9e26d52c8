//! Talks to a real NATS server (default `nats://127.0.0.1:4222`, override with
//! `NATS_URL`). Every wait has a deadline: if NATS is down the tests fail with
//! "cannot connect to NATS ... (is nats-server running?)" within seconds.
#![cfg(feature = "integration")]

use std::time::{Duration, Instant};

use dynamo_runtime::{Client, ConnectOptions};

fn options(name: &str) -> ConnectOptions {
    ConnectOptions {
        url: std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into()),
        name: name.into(),
        timeout: Duration::from_secs(3),
    }
}

fn connect(name: &str) -> Client {
    match Client::connect(&options(name)) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// A subject no other test run can collide with.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("tollgate_example.{prefix}.{}.{nanos}", std::process::id())
}

#[test]
fn publish_subscribe_round_trip() {
    let mut sub = connect("sub");
    let mut publisher = connect("pub");
    let subject = unique("roundtrip");
    let sid = sub.subscribe(&subject).unwrap();
    sub.flush().unwrap();

    publisher.publish(&subject, b"hello dynamo").unwrap();
    publisher.flush().unwrap();

    let msg = sub.next_message(Duration::from_secs(3)).unwrap();
    assert_eq!(msg.subject, subject);
    assert_eq!(msg.sid, sid);
    assert_eq!(msg.payload, b"hello dynamo");
    assert!(sub.server_info().contains("server_id"));
}

#[test]
fn wildcard_subscription_receives_every_worker() {
    let mut sub = connect("kv-events");
    let base = unique("kv");
    sub.subscribe(&format!("{base}.*.stored")).unwrap();
    sub.flush().unwrap();
    for worker in ["w1", "w2", "w3"] {
        sub.publish(&format!("{base}.{worker}.stored"), worker.as_bytes())
            .unwrap();
    }
    sub.publish(&format!("{base}.w1.removed"), b"ignored")
        .unwrap();
    sub.flush().unwrap();

    let mut got: Vec<String> = (0..3)
        .map(|_| {
            String::from_utf8(sub.next_message(Duration::from_secs(3)).unwrap().payload).unwrap()
        })
        .collect();
    got.sort();
    assert_eq!(got, ["w1", "w2", "w3"]);
    // The `removed` event must not be delivered.
    assert!(sub.next_message(Duration::from_millis(200)).is_err());
}

#[test]
fn request_reply_through_a_responder() {
    let subject = unique("echo");
    let mut responder = connect("responder");
    responder.subscribe(&subject).unwrap();
    responder.flush().unwrap();

    let handle = std::thread::spawn(move || {
        let req = responder.next_message(Duration::from_secs(3)).unwrap();
        let reply_to = req.reply_to.expect("request carries a reply subject");
        let mut answer = b"echo:".to_vec();
        answer.extend_from_slice(&req.payload);
        responder.publish(&reply_to, &answer).unwrap();
        responder.flush().unwrap();
    });

    let mut requester = connect("requester");
    let reply = requester.request(&subject, b"ping").unwrap();
    assert_eq!(reply.payload, b"echo:ping");
    handle.join().unwrap();
}

#[test]
fn waiting_without_messages_times_out_instead_of_hanging() {
    let mut sub = connect("idle");
    sub.subscribe(&unique("silence")).unwrap();
    sub.flush().unwrap();
    let started = Instant::now();
    let err = sub.next_message(Duration::from_millis(300)).unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

// tollgate: markers(nightly)
#[test]
#[ignore = "slow: pushes 20k messages through NATS; run with --ignored"]
fn sustained_publish_throughput() {
    let mut sub = connect("bulk-sub");
    let mut publisher = connect("bulk-pub");
    let subject = unique("bulk");
    sub.subscribe(&subject).unwrap();
    sub.flush().unwrap();
    let n = 20_000;
    for i in 0..n {
        publisher
            .publish(&subject, format!("{i}").as_bytes())
            .unwrap();
    }
    publisher.flush().unwrap();
    for i in 0..n {
        let m = sub.next_message(Duration::from_secs(5)).unwrap();
        assert_eq!(m.payload, format!("{i}").as_bytes());
    }
}
