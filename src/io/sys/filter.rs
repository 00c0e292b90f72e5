//! Classic BPF socket filters that split ND/ARP from the data path.
//!
//! With several workers, ND and ARP must reach every worker (each keeps
//! its own neighbor cache), while data frames are spread by the fanout
//! hash. Each worker's fanout socket gets [`SocketFilter::ExceptNeighbor`]
//! and a second, unfanned socket gets [`SocketFilter::NeighborOnly`]. The
//! kernel runs a socket's filter after fanout picks the socket, so the two
//! programs must be exact complements: they are one program with its two
//! verdicts swapped, and the tests below run both over the same frames.
//!
//! ND here means ICMPv6 types 133–137 directly after the IPv6 header; an
//! ND message behind extension headers (legal, never seen from real
//! stacks) takes the data path and is handled by whichever worker gets it.
//! Offsets count from the Ethernet header: the kernel strips VLAN tags
//! into metadata before AF_PACKET sees the frame.

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

const LD_H_ABS: u16 = 0x28;
const LD_B_ABS: u16 = 0x30;
const LD_W_LEN: u16 = 0x80;
const JEQ_K: u16 = 0x15;
const JGE_K: u16 = 0x35;
const JGT_K: u16 = 0x25;
const RET_K: u16 = 0x06;
/// Bytes kept of an accepted frame: all of it.
const ACCEPT: u32 = 0x0004_0000;

/// Which frames a socket takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketFilter {
    /// ARP and ND (ICMPv6 133–137) only.
    NeighborOnly,
    /// Everything but ARP and ND.
    ExceptNeighbor,
    /// Nothing: a socket that only sends (the DHCPv6 service's).
    Nothing,
}

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
    BpfInsn { code, jt, jf, k }
}

impl SocketFilter {
    /// The program. Instruction 10 is the "neighbor" verdict, 11 the
    /// other. Frames too short to hold an ICMPv6 type are data (the length
    /// is checked first: a load past the end would reject on both sides).
    pub fn program(self) -> [BpfInsn; 12] {
        let (neighbor, other) = match self {
            SocketFilter::NeighborOnly => (ACCEPT, 0),
            SocketFilter::ExceptNeighbor => (0, ACCEPT),
            SocketFilter::Nothing => (0, 0),
        };
        [
            insn(LD_H_ABS, 0, 0, 12),      // 0: A = ethertype
            insn(JEQ_K, 8, 0, 0x0806),     // 1: ARP -> 10
            insn(JEQ_K, 0, 8, 0x86dd),     // 2: not IPv6 -> 11
            insn(LD_W_LEN, 0, 0, 0),       // 3: A = frame length
            insn(JGE_K, 0, 6, 14 + 41),    // 4: no ICMPv6 type byte -> 11
            insn(LD_B_ABS, 0, 0, 14 + 6),  // 5: A = next header
            insn(JEQ_K, 0, 4, 58),         // 6: not ICMPv6 -> 11
            insn(LD_B_ABS, 0, 0, 14 + 40), // 7: A = ICMPv6 type
            insn(JGE_K, 0, 2, 133),        // 8: < 133 -> 11
            insn(JGT_K, 1, 0, 137),        // 9: > 137 -> 11, else 10
            insn(RET_K, 0, 0, neighbor),   // 10
            insn(RET_K, 0, 0, other),      // 11
        ]
    }
}

/// Attaches `filter` to a socket (SO_ATTACH_FILTER).
pub fn attach(fd: std::os::fd::BorrowedFd<'_>, filter: SocketFilter) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let program = filter.program();
    let mut insns: Vec<libc::sock_filter> = program
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let fprog = libc::sock_fprog {
        len: libc::c_ushort::try_from(insns.len())
            .map_err(|_| std::io::Error::other("BPF program too long"))?,
        filter: insns.as_mut_ptr(),
    };
    let len = super::socket::socklen_of::<libc::sock_fprog>()?;
    // SAFETY: `fprog` points at `insns`, a live array of exactly `len`
    // instructions that outlives the call; the kernel copies the program
    // and reads nothing after returning. The length is sock_fprog's size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast::<libc::c_void>(),
            len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
/// Runs a classic BPF program of the instructions above over `frame`, as
/// the kernel would (a load past the end rejects): for tests.
pub fn run(program: &[BpfInsn], frame: &[u8]) -> u32 {
    let mut a: u32 = 0;
    let mut pc = 0usize;
    for _ in 0..program.len() {
        let Some(i) = program.get(pc) else { return 0 };
        pc += 1;
        match i.code {
            LD_H_ABS => {
                let at = i.k as usize;
                match (frame.get(at), frame.get(at + 1)) {
                    (Some(hi), Some(lo)) => a = u32::from(u16::from_be_bytes([*hi, *lo])),
                    _ => return 0,
                }
            }
            LD_W_LEN => a = u32::try_from(frame.len()).unwrap_or(u32::MAX),
            LD_B_ABS => match frame.get(i.k as usize) {
                Some(b) => a = u32::from(*b),
                None => return 0,
            },
            JEQ_K | JGE_K | JGT_K => {
                let taken = match i.code {
                    JEQ_K => a == i.k,
                    JGE_K => a >= i.k,
                    _ => a > i.k,
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            RET_K => return i.k,
            _ => return 0,
        }
    }
    0
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn frame(ethertype: u16, next_header: u8, icmp_type: u8) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[12..14].copy_from_slice(&ethertype.to_be_bytes());
        f[20] = next_header;
        f[54] = icmp_type;
        f
    }

    #[test]
    fn neighbor_frames_go_to_exactly_one_side() {
        let nd = SocketFilter::NeighborOnly.program();
        let data = SocketFilter::ExceptNeighbor.program();
        let cases = [
            (frame(0x0806, 0, 0), true),
            (frame(0x86dd, 58, 133), true),
            (frame(0x86dd, 58, 135), true),
            (frame(0x86dd, 58, 137), true),
            (frame(0x86dd, 58, 128), false),
            (frame(0x86dd, 58, 138), false),
            (frame(0x86dd, 58, 143), false),
            (frame(0x86dd, 17, 135), false),
            (frame(0x86dd, 0, 135), false),
            (frame(0x0800, 1, 0), false),
        ];
        for (f, is_neighbor) in cases {
            assert_eq!(run(&nd, &f) != 0, is_neighbor, "{:?}", &f[12..14]);
            assert_eq!(run(&data, &f) != 0, !is_neighbor, "{:?}", &f[12..14]);
        }
    }

    #[test]
    fn short_ipv6_frames_take_the_data_path() {
        // 54 bytes: an IPv6 header with no payload. The data side takes
        // it; nothing is lost between the two sockets.
        let short = &frame(0x86dd, 59, 0)[..54];
        assert_eq!(run(&SocketFilter::NeighborOnly.program(), short), 0);
        assert_ne!(run(&SocketFilter::ExceptNeighbor.program(), short), 0);
        // A runt without an EtherType is refused by both (the kernel's
        // load-past-the-end rule), as the engine would drop it anyway.
        let runt = [0u8; 10];
        assert_eq!(run(&SocketFilter::NeighborOnly.program(), &runt), 0);
        assert_eq!(run(&SocketFilter::ExceptNeighbor.program(), &runt), 0);
    }
}
