//! Just enough of the RFB protocol (RFC 6143, plus the Tight encoding) to
//! find where each server → client message ends, so that framebuffer
//! updates can be counted and timed. The pixel format is taken from the
//! server's ServerInit: 32 bits per pixel (TigerVNC asks for the same).

/// The rectangle encodings met in these runs.
const RAW: i32 = 0;
const COPY_RECT: i32 = 1;
const TIGHT: i32 = 7;
const ZRLE: i32 = 16;
const CURSOR: i32 = -239;
const X_CURSOR: i32 = -240;
const LAST_RECT: i32 = -224;
const DESKTOP_SIZE: i32 = -223;
const EXTENDED_DESKTOP_SIZE: i32 = -308;
const POINTER_POS: i32 = -232;

/// Parses the server's side of an RFB session incrementally.
#[derive(Default)]
pub struct RfbParser {
    buffer: Vec<u8>,
    stage: Stage,
    error: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Stage {
    #[default]
    Version,
    SecurityTypes,
    SecurityResult,
    ServerInit,
    Messages,
}

impl std::fmt::Debug for RfbParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head: Vec<u8> = self.buffer.iter().take(24).copied().collect();
        f.debug_struct("RfbParser")
            .field("stage", &self.stage)
            .field("buffered", &self.buffer.len())
            .field("head", &head)
            .field("error", &self.error)
            .finish()
    }
}

/// Not enough bytes yet.
struct More;

/// Reads from a byte slice, failing with [`More`] at its end.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], More> {
        let slice = self.bytes.get(self.at..self.at + n).ok_or(More)?;
        self.at += n;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, More> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, More> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, More> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Tight's compact length: 1 to 3 bytes, 7 bits each.
    fn compact(&mut self) -> Result<usize, More> {
        let mut value = 0usize;
        for i in 0..3 {
            let byte = self.u8()?;
            let bits = if i == 2 {
                byte as usize
            } else {
                (byte & 0x7f) as usize
            };
            value |= bits << (7 * i);
            if i == 2 || byte & 0x80 == 0 {
                break;
            }
        }
        Ok(value)
    }
}

impl RfbParser {
    /// Feeds bytes the server sent; returns how many framebuffer updates
    /// they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        if self.error.is_some() {
            return 0;
        }
        self.buffer.extend_from_slice(bytes);
        let mut completed = 0;
        loop {
            let mut cursor = Cursor {
                bytes: &self.buffer,
                at: 0,
            };
            let step = match self.stage {
                Stage::Version => cursor.take(12).map(|_| Some(Stage::SecurityTypes)),
                Stage::SecurityTypes => cursor.u8().and_then(|n| {
                    cursor
                        .take(usize::from(n))
                        .map(|_| Some(Stage::SecurityResult))
                }),
                Stage::SecurityResult => cursor.u32().map(|_| Some(Stage::ServerInit)),
                Stage::ServerInit => cursor.take(20).and_then(|_| {
                    let len = cursor.u32()? as usize;
                    cursor.take(len).map(|_| Some(Stage::Messages))
                }),
                Stage::Messages => match message(&mut cursor) {
                    Ok(Ok(update)) => {
                        completed += usize::from(update);
                        Ok(None)
                    }
                    Ok(Err(error)) => {
                        self.error = Some(error);
                        return completed;
                    }
                    Err(More) => Err(More),
                },
            };
            match step {
                Ok(next) => {
                    let used = cursor.at;
                    self.buffer.drain(..used);
                    if let Some(next) = next {
                        self.stage = next;
                    }
                }
                Err(More) => return completed,
            }
        }
    }

    /// Why parsing stopped, if it did.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

/// One server message; `Ok(Ok(true))` for a framebuffer update.
fn message(cursor: &mut Cursor<'_>) -> Result<Result<bool, String>, More> {
    match cursor.u8()? {
        0 => {
            cursor.take(1)?;
            let count = cursor.u16()?;
            for _ in 0..count {
                let (width, height) = (
                    {
                        cursor.take(4)?;
                        cursor.u16()? as usize
                    },
                    cursor.u16()? as usize,
                );
                let encoding = cursor.u32()? as i32;
                match encoding {
                    RAW => {
                        cursor.take(width * height * 4)?;
                    }
                    COPY_RECT => {
                        cursor.take(4)?;
                    }
                    ZRLE => {
                        let len = cursor.u32()? as usize;
                        cursor.take(len)?;
                    }
                    TIGHT => tight(cursor, width, height)?,
                    CURSOR => {
                        cursor.take(width * height * 4 + width.div_ceil(8) * height)?;
                    }
                    X_CURSOR => {
                        if width * height > 0 {
                            cursor.take(6 + 2 * width.div_ceil(8) * height)?;
                        }
                    }
                    LAST_RECT => break,
                    DESKTOP_SIZE | POINTER_POS => {}
                    EXTENDED_DESKTOP_SIZE => {
                        let screens = usize::from(cursor.u8()?);
                        cursor.take(3 + 16 * screens)?;
                    }
                    other => return Ok(Err(format!("rectangle encoding {other}"))),
                }
            }
            Ok(Ok(true))
        }
        1 => {
            cursor.take(3)?;
            let count = cursor.u16()? as usize;
            cursor.take(6 * count)?;
            Ok(Ok(false))
        }
        2 => Ok(Ok(false)),
        3 => {
            // ServerCutText; a negative length announces that many bytes
            // of the extended clipboard protocol.
            cursor.take(3)?;
            let len = (cursor.u32()? as i32).unsigned_abs() as usize;
            cursor.take(len)?;
            Ok(Ok(false))
        }
        other => Ok(Err(format!("server message type {other}"))),
    }
}

/// A Tight rectangle of 32-bit pixels, which Tight sends as 3-byte TPIXELs.
fn tight(cursor: &mut Cursor<'_>, width: usize, height: usize) -> Result<(), More> {
    let control = cursor.u8()?;
    match control >> 4 {
        8 => {
            cursor.take(3)?;
        }
        9 => {
            let len = cursor.compact()?;
            cursor.take(len)?;
        }
        _ => {
            let filter = if control & 0x40 != 0 { cursor.u8()? } else { 0 };
            let size = match filter {
                1 => {
                    let colours = usize::from(cursor.u8()?) + 1;
                    cursor.take(colours * 3)?;
                    if colours == 2 {
                        width.div_ceil(8) * height
                    } else {
                        width * height
                    }
                }
                _ => width * height * 3,
            };
            if size < 12 {
                cursor.take(size)?;
            } else {
                let len = cursor.compact()?;
                cursor.take(len)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_updates_across_split_reads() {
        let mut stream = b"RFB 003.008\n".to_vec();
        stream.extend_from_slice(&[1, 1, 0, 0, 0, 0]);
        stream.extend_from_slice(&[0; 20]);
        stream.extend_from_slice(&[0, 0, 0, 1, b'x']);
        for _ in 0..2 {
            // One ZRLE rectangle of 3 data bytes, then a CopyRect.
            stream.extend_from_slice(&[0, 0, 0, 2]);
            stream.extend_from_slice(&[0, 0, 0, 0, 0, 4, 0, 4, 0, 0, 0, 16, 0, 0, 0, 3, 7, 7, 7]);
            stream.extend_from_slice(&[0, 0, 0, 0, 0, 4, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0]);
        }
        let mut parser = RfbParser::default();
        let total: usize = stream.chunks(5).map(|chunk| parser.feed(chunk)).sum();
        assert_eq!(total, 2);
        assert!(parser.error().is_none());
    }
}
