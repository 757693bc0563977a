//! SimCash's seed hierarchy (PERSISTENCE-NOTES §3.3, ENGINE-SPEC §4.1): master seed →
//! iteration and agent → sample, each the first 4 bytes of a SHA-256, big-endian, mod 2³¹.

use sha2::{Digest, Sha256};

fn derive(text: &str) -> u64 {
    let h = Sha256::digest(text.as_bytes());
    u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]])) % (1 << 31)
}

/// Seed of iteration `i` (0-based) for `agent`: SHA-256 of `"{master}:iter:{i}:agent:{agent}"`.
pub fn iteration_seed(master: u64, iteration: u32, agent: &str) -> u64 {
    derive(&format!("{master}:iter:{iteration}:agent:{agent}"))
}

/// Seed of bootstrap sample `k`: SHA-256 of `"{iteration_seed}:bootstrap:{k}"`.
pub fn sample_seed(iteration_seed: u64, k: u32) -> u64 {
    derive(&format!("{iteration_seed}:bootstrap:{k}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_match_python_hashlib() {
        // Computed independently: int.from_bytes(sha256(b"42:iter:0:agent:BANK_A")[:4], "big")
        // % 2**31 (digest begins c0db7a4b), then the same for "1088125515:bootstrap:0".
        assert_eq!(iteration_seed(42, 0, "BANK_A"), 1_088_125_515);
        assert_eq!(sample_seed(1_088_125_515, 0), 1_885_828_304);
        assert_ne!(iteration_seed(42, 1, "BANK_A"), iteration_seed(42, 0, "BANK_A"));
        assert_ne!(iteration_seed(42, 0, "BANK_B"), iteration_seed(42, 0, "BANK_A"));
    }
}
