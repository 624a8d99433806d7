//! Seeded randomness: one master seed, one independent ChaCha stream per component.
//!
//! Streams are derived from the master seed and the component's name, so adding a
//! new consumer never shifts the draws of the existing ones (TigerBeetle's VOPR
//! habit). Only this module constructs random generators.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// The master seed of a run, from which every component's stream is forked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedTree {
    master: u64,
}

impl SeedTree {
    /// A tree rooted at `master`.
    pub fn new(master: u64) -> Self {
        SeedTree { master }
    }

    /// The master seed (printed in reports so a run can be reproduced).
    pub fn master(&self) -> u64 {
        self.master
    }

    /// The stream for the component called `name`. The same name always yields
    /// the same stream for the same master seed.
    pub fn fork(&self, name: &str) -> RandomStream {
        let mut state = self.master ^ fnv1a64(name.as_bytes());
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        RandomStream {
            rng: ChaCha8Rng::from_seed(seed),
        }
    }
}

/// FNV-1a, 64 bits: a stable, platform-independent string hash.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One component's random stream. Distributions are implemented here, on raw
/// 64-bit draws, so that results do not depend on a distribution crate's version.
#[derive(Clone, Debug)]
pub struct RandomStream {
    rng: ChaCha8Rng,
}

impl RandomStream {
    /// A raw 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Uniform in `0..n` without modulo bias (Lemire's method). `n` must be > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no values");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal draw (Box–Muller; one value per call, deterministic).
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `len` characters from `alphabet`, uniformly.
    pub fn string_from(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_same_stream_other_name_other_stream() {
        let t = SeedTree::new(7);
        let a: Vec<u64> = (0..4).map(|_| t.fork("scheduler").next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(t.fork("scheduler").next_u64(), t.fork("startup").next_u64());
        assert_ne!(SeedTree::new(8).fork("scheduler").next_u64(), a[0]);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut s = SeedTree::new(1).fork("x");
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let v = s.below(7) as usize;
            seen[v] = true;
        }
        assert!(seen.iter().all(|b| *b));
    }

    #[test]
    fn normal_has_plausible_moments() {
        let mut s = SeedTree::new(3).fork("n");
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| s.standard_normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }
}
