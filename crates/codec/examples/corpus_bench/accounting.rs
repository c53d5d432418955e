//! Where the bytes go: Tether's updates split by record kind, envelope and
//! compressed payload, and the bytes a session adds around each update on
//! the wire (messages, sealing, framing, QUIC packets).

use serde::Serialize;
use tether_codec::{RecordKind, UpdateStats};
use tether_proto::session::{AgentMessage, FrameChunk, FrameTiming};
use tether_proto::{encode_message, secure::Sealed};

/// Bytes per QUIC packet outside its STREAM frames' data on an IPv4 path:
/// IPv4 header 20, UDP header 8, short header 1 + an 8-byte connection ID
/// (quinn's default length) + a 2-byte packet number, the AEAD tag 16, and
/// one STREAM frame header (type, stream ID, 2-4 byte offset, 2-byte length:
/// about 8).
pub const QUIC_PACKET_OVERHEAD: usize = 20 + 8 + 1 + 8 + 2 + 16 + 8;
/// Stream bytes a QUIC packet carries at most on a 1500-byte path (quinn
/// probes up to a 1452-byte UDP payload).
pub const QUIC_PACKET_PAYLOAD: usize = 1452 - (1 + 8 + 2 + 16 + 8);
/// An ACK-only QUIC packet: IPv4 + UDP + short header + tag + a small ACK
/// frame (about 5 bytes).
pub const QUIC_ACK_PACKET: usize = 20 + 8 + 1 + 8 + 2 + 16 + 5;

/// The totals of one class of updates (key or delta).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Part {
    pub updates: u64,
    pub header_bytes: u64,
    pub body_bytes: u64,
    pub payload_bytes: u64,
    /// Per record kind: records, uncompressed body bytes, and an estimate
    /// of their compressed bytes (each update's payload shared among its
    /// records in proportion to their body bytes).
    pub kinds: Vec<KindPart>,
}

/// One record kind's share.
#[derive(Debug, Clone, Serialize)]
pub struct KindPart {
    pub kind: &'static str,
    pub records: u64,
    pub body_bytes: u64,
    pub payload_share: f64,
}

/// The wire around each update, per update, as the agent sends it today:
/// a `Timing` message, then the update in one `Frame` chunk, each message
/// postcard-encoded, sealed (kind byte + 16-byte tag), wrapped in `Sealed`
/// and length-prefixed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Wire {
    /// Updates counted (deltas only).
    pub updates: u64,
    /// Codec update bytes.
    pub update_bytes: u64,
    /// The `Frame` message around the update: variant, seq, length, `last`.
    pub chunk_message_bytes: u64,
    /// The `Timing` message.
    pub timing_message_bytes: u64,
    /// Sealing and framing of both messages: kind byte, tag, `Sealed`
    /// length varint, 4-byte length prefix.
    pub record_bytes: u64,
    /// QUIC/UDP/IP packet overhead if both messages share packets.
    pub packet_bytes_coalesced: u64,
    /// The same if the `Timing` message leaves in a packet of its own.
    pub packet_bytes_split: u64,
    /// One ACK-only packet per update answering the viewer's `Ack`.
    pub ack_packet_bytes: u64,
}

/// Everything counted on one sequence.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Accounting {
    pub key: Part,
    pub delta: Part,
    pub wire: Wire,
}

fn sealed_len(message: &AgentMessage) -> (usize, usize) {
    let plaintext = postcard::to_allocvec(message).expect("postcard encodes a message");
    let sealed = Sealed(vec![0; plaintext.len() + tether_e2e::RECORD_OVERHEAD]);
    let mut framed = Vec::new();
    encode_message(&sealed, &mut framed).expect("a small message frames");
    (plaintext.len(), framed.len())
}

impl Accounting {
    /// Counts one update, its `stats`, with sequence number `seq`.
    pub fn add(&mut self, stats: &UpdateStats, update_len: usize, seq: u64) {
        let part = if stats.key {
            &mut self.key
        } else {
            &mut self.delta
        };
        if part.kinds.is_empty() {
            part.kinds = RecordKind::ALL
                .iter()
                .map(|kind| KindPart {
                    kind: kind.name(),
                    records: 0,
                    body_bytes: 0,
                    payload_share: 0.0,
                })
                .collect();
        }
        part.updates += 1;
        part.header_bytes += stats.header_bytes as u64;
        part.body_bytes += stats.body_bytes as u64;
        part.payload_bytes += stats.payload_bytes as u64;
        for (kind, slot) in RecordKind::ALL.iter().zip(&mut part.kinds) {
            let tally = stats.tally(*kind);
            slot.records += tally.records;
            slot.body_bytes += tally.body_bytes;
            if stats.body_bytes > 0 {
                slot.payload_share +=
                    stats.payload_bytes as f64 * tally.body_bytes as f64 / stats.body_bytes as f64;
            }
        }
        if stats.key {
            return;
        }
        let timing = AgentMessage::Timing(FrameTiming {
            seq,
            // A capture time of late 2026 in microseconds, and typical
            // stage durations: their varints have realistic lengths.
            captured_at_us: 1_795_000_000_000_000,
            capture_us: 600,
            encode_us: 100,
        });
        let chunk = AgentMessage::Frame(FrameChunk {
            seq,
            data: vec![0; update_len],
            last: true,
        });
        let (timing_plain, timing_framed) = sealed_len(&timing);
        let (chunk_plain, chunk_framed) = sealed_len(&chunk);
        let wire = &mut self.wire;
        wire.updates += 1;
        wire.update_bytes += update_len as u64;
        wire.chunk_message_bytes += (chunk_plain - update_len) as u64;
        wire.timing_message_bytes += timing_plain as u64;
        wire.record_bytes += (timing_framed - timing_plain + chunk_framed - chunk_plain) as u64;
        let packets = |bytes: usize| bytes.div_ceil(QUIC_PACKET_PAYLOAD) * QUIC_PACKET_OVERHEAD;
        wire.packet_bytes_coalesced += packets(timing_framed + chunk_framed) as u64;
        wire.packet_bytes_split += (packets(timing_framed) + packets(chunk_framed)) as u64;
        wire.ack_packet_bytes += QUIC_ACK_PACKET as u64;
    }
}

fn print_part(name: &str, part: &Part) {
    if part.updates == 0 {
        return;
    }
    let total = part.header_bytes + part.payload_bytes;
    println!(
        "  {name}: {} updates, {} bytes = envelope {} + payload {} (body {} bytes, payload/body {:.3})",
        part.updates,
        total,
        part.header_bytes,
        part.payload_bytes,
        part.body_bytes,
        part.payload_bytes as f64 / part.body_bytes.max(1) as f64
    );
    for kind in part.kinds.iter().filter(|k| k.records > 0) {
        println!(
            "    {:<8} {:>8} records {:>12} body bytes  ~{:>11.0} payload bytes ({:>5.1} %)",
            kind.kind,
            kind.records,
            kind.body_bytes,
            kind.payload_share,
            100.0 * kind.payload_share / part.payload_bytes.max(1) as f64
        );
    }
}

/// Prints the breakdown of one sequence.
pub fn print_text(accounting: &Accounting) {
    println!("where the bytes go:");
    print_part("key", &accounting.key);
    print_part("delta", &accounting.delta);
    let wire = &accounting.wire;
    if wire.updates > 0 {
        let per = |bytes: u64| bytes as f64 / wire.updates as f64;
        let session = wire.update_bytes
            + wire.chunk_message_bytes
            + wire.timing_message_bytes
            + wire.record_bytes;
        println!(
            "  per delta update on the wire: update {:.1} + Frame message {:.1} + Timing message {:.1} \
             + sealing/framing {:.1} = {:.1} stream bytes; QUIC/UDP/IPv4 packets +{:.1} (one packet) \
             or +{:.1} (Timing apart); ACK packet +{:.1}",
            per(wire.update_bytes),
            per(wire.chunk_message_bytes),
            per(wire.timing_message_bytes),
            per(wire.record_bytes),
            per(session),
            per(wire.packet_bytes_coalesced),
            per(wire.packet_bytes_split),
            per(wire.ack_packet_bytes),
        );
    }
}
