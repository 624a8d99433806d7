//! IPv4 CIDR blocks and the address pools of subnets (domain.md §2).
//!
//! An [`IpPool`] hands out the usable addresses of one subnet: never the first
//! two (network address, default gateway) nor the last (broadcast). Allocation
//! and release are checked in pairs: an address is in use iff its bit is set.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use thiserror::Error;

/// Why a CIDR string was refused.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum CidrError {
    /// Not `a.b.c.d/n`.
    #[error("`{0}` is not an IPv4 CIDR block like 10.0.0.0/16")]
    Syntax(String),
    /// Host bits are set below the prefix.
    #[error("`{text}` has host bits set: the block starts at {network}")]
    HostBitsSet { text: String, network: String },
}

/// An IPv4 CIDR block whose host bits are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    base: u32,
    prefix: u8,
}

impl Ipv4Cidr {
    /// A block from a base address and prefix length; host bits must be zero.
    pub fn new(base: u32, prefix: u8) -> Result<Ipv4Cidr, CidrError> {
        assert!(prefix <= 32, "prefix length above 32");
        let c = Ipv4Cidr { base, prefix };
        if base & !c.mask() != 0 {
            let text = format!("{}/{prefix}", Ipv4Addr::from(base));
            let network = Ipv4Cidr {
                base: base & c.mask(),
                prefix,
            }
            .to_string();
            return Err(CidrError::HostBitsSet { text, network });
        }
        Ok(c)
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The first address of the block.
    pub fn first(&self) -> u32 {
        self.base
    }

    /// The last address of the block.
    pub fn last(&self) -> u32 {
        self.base | !self.mask()
    }

    /// Number of addresses in the block.
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix))
    }

    fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    /// True when `addr` lies in the block.
    pub fn contains(&self, addr: u32) -> bool {
        addr & self.mask() == self.base
    }

    /// True when `other` lies wholly inside this block.
    pub fn contains_block(&self, other: &Ipv4Cidr) -> bool {
        other.prefix >= self.prefix && self.contains(other.base)
    }

    /// True when the two blocks share any address.
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.contains(other.base) || other.contains(self.base)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || CidrError::Syntax(s.to_string());
        let (addr, len) = s.trim().split_once('/').ok_or_else(syntax)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| syntax())?;
        let prefix: u8 = len.parse().map_err(|_| syntax())?;
        if prefix > 32 || len.starts_with('+') {
            return Err(syntax());
        }
        Ipv4Cidr::new(u32::from(addr), prefix).map_err(|e| match e {
            CidrError::HostBitsSet { network, .. } => CidrError::HostBitsSet {
                text: s.trim().to_string(),
                network,
            },
            other => other,
        })
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

/// Number of addresses OCI reserves in every subnet: the first two and the last.
pub const RESERVED_ADDRESSES: u64 = 3;

/// The allocatable addresses of one subnet, as a bitmap.
#[derive(Clone, Debug)]
pub struct IpPool {
    cidr: Ipv4Cidr,
    used: Vec<u64>,
    used_count: u64,
    /// No free address lies in a word before this one.
    first_free_word_hint: usize,
}

impl IpPool {
    /// A pool over `cidr` with only the reserved addresses excluded.
    /// Subnets smaller than /30 have no usable address; OCI refuses them earlier.
    pub fn new(cidr: Ipv4Cidr) -> IpPool {
        let words = cidr.size().div_ceil(64) as usize;
        let mut pool = IpPool {
            cidr,
            used: vec![0; words],
            used_count: 0,
            first_free_word_hint: 0,
        };
        // Mark the reserved addresses as permanently used so allocation skips them.
        for off in [0, 1, cidr.size() - 1] {
            pool.set(off, true);
        }
        pool.used_count = 0;
        // Pad bits beyond the block (only for blocks under 64 addresses).
        let size = cidr.size();
        for off in size..(words as u64 * 64) {
            pool.set(off, true);
        }
        pool
    }

    /// The block this pool serves.
    pub fn cidr(&self) -> Ipv4Cidr {
        self.cidr
    }

    /// Usable addresses in all (size − 3).
    pub fn capacity(&self) -> u64 {
        self.cidr.size().saturating_sub(RESERVED_ADDRESSES)
    }

    /// Addresses handed out now.
    pub fn used(&self) -> u64 {
        self.used_count
    }

    /// Addresses still free.
    pub fn free(&self) -> u64 {
        self.capacity() - self.used_count
    }

    /// True when `addr` is one of the three reserved addresses.
    pub fn is_reserved(&self, addr: u32) -> bool {
        let off = u64::from(addr.wrapping_sub(self.cidr.first()));
        self.cidr.contains(addr) && (off < 2 || off == self.cidr.size() - 1)
    }

    /// True when `addr` is currently allocated.
    pub fn is_allocated(&self, addr: u32) -> bool {
        self.cidr.contains(addr)
            && !self.is_reserved(addr)
            && self.get(u64::from(addr - self.cidr.first()))
    }

    fn get(&self, off: u64) -> bool {
        self.used[(off / 64) as usize] & (1 << (off % 64)) != 0
    }

    fn set(&mut self, off: u64, v: bool) {
        let w = &mut self.used[(off / 64) as usize];
        if v {
            *w |= 1 << (off % 64)
        } else {
            *w &= !(1 << (off % 64))
        }
    }

    /// Allocates the lowest free address, or `None` when the pool is exhausted.
    /// (Lowest-free order is a modelling assumption; OCI does not document its order.)
    pub fn allocate(&mut self) -> Option<u32> {
        if self.free() == 0 {
            return None;
        }
        let start = self.first_free_word_hint;
        let (w, word) = self.used[start..]
            .iter()
            .enumerate()
            .find(|(_, w)| **w != u64::MAX)?;
        let w = start + w;
        let off = w as u64 * 64 + u64::from(word.trailing_ones());
        self.first_free_word_hint = w;
        assert!(!self.get(off), "allocating an address already in use");
        self.set(off, true);
        self.used_count += 1;
        let addr = self.cidr.first() + off as u32;
        debug_assert!(!self.is_reserved(addr));
        Some(addr)
    }

    /// Allocates exactly `addr` if it is free and not reserved.
    pub fn allocate_exact(&mut self, addr: u32) -> bool {
        if !self.cidr.contains(addr) || self.is_reserved(addr) || self.is_allocated(addr) {
            return false;
        }
        self.set(u64::from(addr - self.cidr.first()), true);
        self.used_count += 1;
        true
    }

    /// Returns `addr` to the pool. Releasing an address that is not allocated is
    /// a bug in the caller (double release) and panics.
    pub fn release(&mut self, addr: u32) {
        assert!(
            self.is_allocated(addr),
            "releasing {} which is not allocated",
            Ipv4Addr::from(addr)
        );
        let off = u64::from(addr - self.cidr.first());
        self.set(off, false);
        self.used_count -= 1;
        self.first_free_word_hint = self.first_free_word_hint.min((off / 64) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_validates() {
        assert_eq!(cidr("10.0.0.0/16").to_string(), "10.0.0.0/16");
        assert_eq!(
            "10.0.1.0/16".parse::<Ipv4Cidr>(),
            Err(CidrError::HostBitsSet {
                text: "10.0.1.0/16".into(),
                network: "10.0.0.0/16".into()
            })
        );
        for bad in ["10.0.0.0", "10.0.0/16", "10.0.0.0/33", "x/8", "10.0.0.0/+8"] {
            assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn overlap_and_containment() {
        let vcn = cidr("10.0.0.0/16");
        assert!(vcn.contains_block(&cidr("10.0.5.0/24")));
        assert!(!vcn.contains_block(&cidr("10.1.0.0/24")));
        assert!(cidr("10.0.0.0/24").overlaps(&cidr("10.0.0.128/25")));
        assert!(!cidr("10.0.0.0/25").overlaps(&cidr("10.0.0.128/25")));
    }

    #[test]
    fn a_slash_24_reserves_network_gateway_and_broadcast() {
        let mut p = IpPool::new(cidr("10.0.1.0/24"));
        assert_eq!(p.capacity(), 253);
        assert_eq!(p.allocate(), Some(u32::from(Ipv4Addr::new(10, 0, 1, 2))));
        let mut last = 0;
        while let Some(a) = p.allocate() {
            last = a;
        }
        assert_eq!(last, u32::from(Ipv4Addr::new(10, 0, 1, 254)));
        assert_eq!(p.free(), 0);
        p.release(u32::from(Ipv4Addr::new(10, 0, 1, 100)));
        assert_eq!(p.allocate(), Some(u32::from(Ipv4Addr::new(10, 0, 1, 100))));
    }

    #[test]
    fn a_slash_30_has_one_usable_address() {
        let mut p = IpPool::new(cidr("10.0.0.0/30"));
        assert_eq!(p.capacity(), 1);
        assert_eq!(p.allocate(), Some(u32::from(Ipv4Addr::new(10, 0, 0, 2))));
        assert_eq!(p.allocate(), None);
    }

    #[test]
    #[should_panic(expected = "not allocated")]
    fn double_release_is_a_bug() {
        let mut p = IpPool::new(cidr("10.0.0.0/29"));
        let a = p.allocate().unwrap();
        p.release(a);
        p.release(a);
    }
}
