//! The x264 baselines, through the `ffmpeg` command-line tool: encode the
//! frames (piped in as raw BGRA) and decode the result, each on one thread,
//! measuring the ffmpeg process's CPU time with `-benchmark`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::corpus::{Frames, Sequence};
use crate::report::CodecFigures;

/// The two x264 configurations of the issue: (name, encoder arguments).
pub const CONFIGS: [(&str, &[&str]); 2] = [
    (
        "x264_crf23",
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-crf",
            "23",
            "-pix_fmt",
            "yuv420p",
        ],
    ),
    (
        "x264rgb_lossless",
        &[
            "-c:v",
            "libx264rgb",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
            "-pix_fmt",
            "bgr0",
        ],
    ),
];

/// Whether `ffmpeg` can be run.
pub fn available() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// CPU seconds (user + sys) from ffmpeg's `-benchmark` line on stderr.
fn cpu_seconds(stderr: &str) -> Result<f64, String> {
    let line = stderr
        .lines()
        .rev()
        .find(|line| line.starts_with("bench:") && line.contains("utime="))
        .ok_or_else(|| format!("no -benchmark line in ffmpeg output:\n{stderr}"))?;
    let field = |name: &str| -> Result<f64, String> {
        let start = line
            .find(name)
            .ok_or_else(|| format!("no {name} in {line}"))?
            + name.len();
        let rest = &line[start..];
        let end = rest
            .find('s')
            .ok_or_else(|| format!("bad {name} in {line}"))?;
        rest[..end]
            .parse::<f64>()
            .map_err(|e| format!("{line}: {e}"))
    };
    Ok(field("utime=")? + field("stime=")?)
}

fn spawn_encoder(sequence: &Sequence, args: &[&str], out: &Path) -> Result<Child, String> {
    let size = format!("{}x{}", sequence.meta.width, sequence.meta.height);
    Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-benchmark",
            "-y",
            "-threads",
            "1",
        ])
        .args([
            "-filter_threads",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "bgra",
            "-s",
            &size,
        ])
        .args(["-r", "30", "-i", "-"])
        .args(args)
        .args(["-threads", "1", "-f", "h264"])
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running ffmpeg: {e}"))
}

fn decode_cpu(file: &Path) -> Result<f64, String> {
    let output = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-benchmark",
            "-threads",
            "1",
            "-i",
        ])
        .arg(file)
        .args(["-f", "null", "-"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("running ffmpeg: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "ffmpeg decode failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    cpu_seconds(&String::from_utf8_lossy(&output.stderr))
}

/// Runs both x264 configurations on the first `limit` frames of `sequence`
/// (fed to both encoders in one pass), returning their figures in
/// [`CONFIGS`] order.
pub fn measure(
    sequence: &Sequence,
    limit: usize,
    scratch: &Path,
) -> Result<Vec<CodecFigures>, String> {
    let outputs: Vec<PathBuf> = CONFIGS
        .iter()
        .map(|(name, _)| scratch.join(format!("{}-{name}.h264", sequence.meta.name)))
        .collect();
    let mut children = CONFIGS
        .iter()
        .zip(&outputs)
        .map(|((_, args), out)| spawn_encoder(sequence, args, out))
        .collect::<Result<Vec<_>, _>>()?;
    let mut frames = Frames::open(sequence, limit)?;
    let mut buffer = vec![0u8; sequence.meta.width as usize * sequence.meta.height as usize * 4];
    let mut count = 0usize;
    while frames.next_into(&mut buffer)? {
        count += 1;
        for child in &mut children {
            let stdin = child.stdin.as_mut().ok_or("ffmpeg stdin")?;
            stdin
                .write_all(&buffer)
                .map_err(|e| format!("feeding ffmpeg: {e}"))?;
        }
    }
    let mut figures = Vec::new();
    for (child, out) in children.into_iter().zip(&outputs) {
        let mut child = child;
        drop(child.stdin.take());
        let output = child.wait_with_output().map_err(|e| e.to_string())?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(format!("ffmpeg encode failed: {stderr}"));
        }
        let encode = cpu_seconds(&stderr)?;
        let decode = decode_cpu(out)?;
        let bytes = std::fs::metadata(out).map_err(|e| e.to_string())?.len();
        let per_frame = |seconds: f64| seconds * 1000.0 / count.max(1) as f64;
        figures.push(CodecFigures {
            bytes_per_frame: bytes as f64 / count.max(1) as f64,
            encode_ms_per_frame: per_frame(encode),
            encode_ms_per_frame_mt: None,
            decode_ms_per_frame: per_frame(decode),
        });
        let _ = std::fs::remove_file(out);
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_benchmark_line() {
        let text = "frame=1\nbench: utime=1.250s stime=0.250s rtime=2.000s\nbench: maxrss=1kB\n";
        assert_eq!(super::cpu_seconds(text).unwrap(), 1.5);
    }
}
