//! Splicing a viewer's stream to a new stream to the agent, byte for byte.

use quinn::{Connection, RecvStream, SendStream, VarInt};
use tether_proto::{control::StreamHeader, encode_message};

const CHUNK: usize = 256 * 1024;
const RESET_CODE: VarInt = VarInt::from_u32(0);

/// Forwards one viewer stream to a new stream on the agent's connection until both directions
/// end. Returns the bytes copied (viewer→agent, agent→viewer).
pub async fn forward_stream(
    viewer: (SendStream, RecvStream),
    agent: &Connection,
    session_id: u64,
) -> anyhow::Result<(u64, u64)> {
    let (viewer_send, viewer_recv) = viewer;
    let (mut agent_send, agent_recv) = agent.open_bi().await?;
    let mut header = Vec::new();
    encode_message(&StreamHeader { session_id }, &mut header)?;
    agent_send.write_all(&header).await?;
    let (up, down) = tokio::join!(pump(viewer_recv, agent_send), pump(agent_recv, viewer_send));
    Ok((up?, down?))
}

/// Copies `from` into `to` until `from` ends, mirroring a reset or stop onto the other side so
/// neither peer waits forever. Memory stays bounded: each chunk is written (within QUIC flow
/// control) before the next is read.
async fn pump(mut from: RecvStream, mut to: SendStream) -> anyhow::Result<u64> {
    let mut copied = 0u64;
    loop {
        match from.read_chunk(CHUNK, true).await {
            Ok(Some(chunk)) => {
                copied += chunk.bytes.len() as u64;
                if let Err(e) = to.write_chunk(chunk.bytes).await {
                    let _ = from.stop(RESET_CODE);
                    return Err(e.into());
                }
            }
            Ok(None) => {
                let _ = to.finish();
                return Ok(copied);
            }
            Err(e) => {
                let _ = to.reset(RESET_CODE);
                return Err(e.into());
            }
        }
    }
}
