//! Reading and writing capture files (pcap and pcapng) with `pcap-file`.
//!
//! Input: classic pcap or pcapng, detected by magic number, Ethernet link
//! type only. In a pcapng, each frame carries the name of the interface it
//! was captured on when the file names its interfaces (`if_name`), so one
//! file can hold a conversation across interfaces.
//!
//! Output: pcapng with one interface block per router interface, named
//! after it, and nanosecond timestamps.
//!
//! pcap-file 2.0 reads an Enhanced Packet Block's timestamp as nanoseconds
//! whatever the interface's `if_tsresol` says; we rescale by the
//! interface's resolution here (default 10^-6, RFC draft-ietf-opsawg-pcapng
//! §4.2) so that captures written by tshark/tcpdump read right.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgReader, PcapNgWriter};
use pcap_file::DataLink;

/// A frame read from a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedFrame {
    /// Since the Unix epoch, as the file says.
    pub timestamp: Duration,
    /// The capture interface's name, when a pcapng names it.
    pub iface: Option<String>,
    pub data: Vec<u8>,
}

/// What can go wrong with a capture file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a pcap or pcapng file")]
    UnknownFormat { path: PathBuf },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: link type {linktype} is not Ethernet")]
    NotEthernet { path: PathBuf, linktype: String },
}

/// Reads every frame of a pcap or pcapng file.
pub fn read_capture(path: &Path) -> Result<Vec<CapturedFrame>, CaptureError> {
    let io_err = |source| CaptureError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = BufReader::new(File::open(path).map_err(io_err)?);
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic).map_err(io_err)?;
    let mut bytes = magic.to_vec();
    file.read_to_end(&mut bytes).map_err(io_err)?;
    match magic {
        [0x0a, 0x0d, 0x0d, 0x0a] => read_pcapng(path, &bytes),
        [0xd4, 0xc3, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0xc3, 0xd4]
        | [0x4d, 0x3c, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0x3c, 0x4d] => read_pcap(path, &bytes),
        _ => Err(CaptureError::UnknownFormat {
            path: path.to_owned(),
        }),
    }
}

fn format_err(path: &Path, e: impl std::fmt::Display) -> CaptureError {
    CaptureError::Format {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn read_pcap(path: &Path, bytes: &[u8]) -> Result<Vec<CapturedFrame>, CaptureError> {
    let mut reader = PcapReader::new(bytes).map_err(|e| format_err(path, e))?;
    let datalink = reader.header().datalink;
    if datalink != DataLink::ETHERNET {
        return Err(CaptureError::NotEthernet {
            path: path.to_owned(),
            linktype: format!("{datalink:?}"),
        });
    }
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.map_err(|e| format_err(path, e))?;
        frames.push(CapturedFrame {
            timestamp: packet.timestamp,
            iface: None,
            data: packet.data.into_owned(),
        });
    }
    Ok(frames)
}

/// Seconds per unit for an `if_tsresol` value.
fn resolution_nanos_per_unit(tsresol: Option<u8>) -> Option<(u128, u128)> {
    // Returns (numerator, denominator) such that nanos = units * num / den.
    let r = tsresol.unwrap_or(6);
    let exp = u32::from(r & 0x7f);
    if r & 0x80 == 0 {
        // 10^-exp seconds per unit.
        if exp <= 9 {
            Some((10u128.pow(9 - exp), 1))
        } else {
            Some((1, 10u128.checked_pow(exp - 9)?))
        }
    } else {
        // 2^-exp seconds per unit.
        Some((1_000_000_000, 1u128.checked_shl(exp)?))
    }
}

fn read_pcapng(path: &Path, bytes: &[u8]) -> Result<Vec<CapturedFrame>, CaptureError> {
    let mut reader = PcapNgReader::new(bytes).map_err(|e| format_err(path, e))?;
    // (name, if_tsresol) per interface of the current section.
    let mut interfaces: Vec<(Option<String>, Option<u8>)> = Vec::new();
    let mut frames = Vec::new();
    while let Some(block) = reader.next_block() {
        let block = block.map_err(|e| format_err(path, e))?;
        match block {
            Block::SectionHeader(_) => interfaces.clear(),
            Block::InterfaceDescription(idb) => {
                if idb.linktype != DataLink::ETHERNET {
                    return Err(CaptureError::NotEthernet {
                        path: path.to_owned(),
                        linktype: format!("{:?}", idb.linktype),
                    });
                }
                let mut name = None;
                let mut tsresol = None;
                for opt in &idb.options {
                    match opt {
                        InterfaceDescriptionOption::IfName(n) => name = Some(n.to_string()),
                        InterfaceDescriptionOption::IfTsResol(r) => tsresol = Some(*r),
                        _ => {}
                    }
                }
                interfaces.push((name, tsresol));
            }
            Block::EnhancedPacket(epb) => {
                let (name, tsresol) = interfaces
                    .get(epb.interface_id as usize)
                    .cloned()
                    .unwrap_or_default();
                let (num, den) = resolution_nanos_per_unit(tsresol)
                    .ok_or_else(|| format_err(path, "unsupported if_tsresol"))?;
                let nanos = epb.timestamp.as_nanos().saturating_mul(num) / den;
                frames.push(CapturedFrame {
                    timestamp: Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)),
                    iface: name,
                    data: epb.data.into_owned(),
                });
            }
            Block::SimplePacket(spb) => frames.push(CapturedFrame {
                timestamp: frames.last().map(|f| f.timestamp).unwrap_or_default(),
                iface: interfaces.first().and_then(|(n, _)| n.clone()),
                data: spb.data.into_owned(),
            }),
            _ => {}
        }
    }
    Ok(frames)
}

/// A pcapng file with one named interface block per router interface.
pub struct PcapNgOut<W: Write> {
    writer: PcapNgWriter<W>,
}

impl PcapNgOut<BufWriter<File>> {
    /// Creates `path` with interfaces named `names`, in order.
    pub fn create(path: &Path, names: &[String]) -> Result<Self, CaptureError> {
        let file = File::create(path).map_err(|source| CaptureError::Io {
            path: path.to_owned(),
            source,
        })?;
        PcapNgOut::new(BufWriter::new(file), names).map_err(|e| format_err(path, e))
    }
}

impl<W: Write> PcapNgOut<W> {
    /// Writes the section and interface blocks to `writer`.
    pub fn new(writer: W, names: &[String]) -> Result<Self, pcap_file::PcapError> {
        let mut writer = PcapNgWriter::new(writer)?;
        for name in names {
            let idb = InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: 0,
                options: vec![
                    InterfaceDescriptionOption::IfName(name.clone().into()),
                    InterfaceDescriptionOption::IfTsResol(9),
                ],
            };
            writer.write_pcapng_block(idb)?;
        }
        Ok(PcapNgOut { writer })
    }

    /// Appends a frame on interface number `iface` at `timestamp`.
    pub fn write(
        &mut self,
        iface: u32,
        timestamp: Duration,
        data: &[u8],
    ) -> Result<(), pcap_file::PcapError> {
        let epb = EnhancedPacketBlock {
            interface_id: iface,
            timestamp,
            // Frames are at most 64 KiB; a longer one is recorded as u32::MAX.
            original_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            data: data.into(),
            options: vec![],
        };
        self.writer.write_pcapng_block(epb)?;
        Ok(())
    }

    /// Flushes and returns the writer.
    pub fn finish(self) -> Result<W, std::io::Error> {
        let mut w = self.writer.into_inner();
        w.flush()?;
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcapng_round_trip_keeps_names_and_nanos() {
        let names = vec!["qr0".to_string(), "qg0".to_string()];
        let mut out = PcapNgOut::new(Vec::new(), &names).unwrap();
        out.write(1, Duration::new(1_700_000_000, 123_456_789), &[1, 2, 3])
            .unwrap();
        out.write(0, Duration::new(1_700_000_001, 5), &[4; 60])
            .unwrap();
        let bytes = out.finish().unwrap();
        let dir = std::env::temp_dir().join(format!("routelet-pcap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rt.pcapng");
        std::fs::write(&path, &bytes).unwrap();
        let frames = read_capture(&path).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].iface.as_deref(), Some("qg0"));
        assert_eq!(
            frames[0].timestamp,
            Duration::new(1_700_000_000, 123_456_789)
        );
        assert_eq!(frames[0].data, vec![1, 2, 3]);
        assert_eq!(frames[1].iface.as_deref(), Some("qr0"));
        assert_eq!(frames[1].timestamp, Duration::new(1_700_000_001, 5));
    }

    #[test]
    fn microsecond_resolution_is_rescaled() {
        assert_eq!(resolution_nanos_per_unit(None), Some((1000, 1)));
        assert_eq!(resolution_nanos_per_unit(Some(9)), Some((1, 1)));
        assert_eq!(resolution_nanos_per_unit(Some(12)), Some((1, 1000)));
        assert_eq!(
            resolution_nanos_per_unit(Some(0x80 | 10)),
            Some((1_000_000_000, 1024))
        );
    }

    #[test]
    fn rejects_non_capture() {
        let dir = std::env::temp_dir().join(format!("routelet-pcap-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.pcap");
        std::fs::write(&path, b"hello world").unwrap();
        let err = read_capture(&path).unwrap_err();
        std::fs::remove_dir_all(&dir).ok();
        assert!(matches!(err, CaptureError::UnknownFormat { .. }), "{err}");
    }

    #[test]
    fn reads_reference_capture() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pcap/slaac-qr0.pcap");
        let frames = read_capture(&path).unwrap();
        assert!(frames.len() >= 20, "{}", frames.len());
        assert!(frames
            .iter()
            .all(|f| f.iface.is_none() && f.data.len() >= 14));
    }
}
