//! Which pieces are here.

/// One bit per piece.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bitmap {
    bits: Vec<u64>,
    len: u32,
    ones: u32,
}

impl Bitmap {
    /// `len` pieces, none present.
    pub fn new(len: u32) -> Bitmap {
        Bitmap {
            bits: vec![0; (len as usize).div_ceil(64)],
            len,
            ones: 0,
        }
    }

    /// `len` pieces, all present.
    pub fn full(len: u32) -> Bitmap {
        let mut b = Bitmap::new(len);
        for i in 0..len {
            b.set(i);
        }
        b
    }

    /// Number of pieces.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether there are no pieces at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pieces present.
    pub fn count(&self) -> u32 {
        self.ones
    }

    /// Whether every piece is present.
    pub fn complete(&self) -> bool {
        self.ones == self.len
    }

    /// Whether piece `i` is present.
    pub fn get(&self, i: u32) -> bool {
        i < self.len && self.bits[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    /// Marks piece `i` present.
    pub fn set(&mut self, i: u32) {
        if i < self.len && !self.get(i) {
            self.bits[(i / 64) as usize] |= 1 << (i % 64);
            self.ones += 1;
        }
    }

    /// Marks piece `i` absent.
    pub fn unset(&mut self, i: u32) {
        if i < self.len && self.get(i) {
            self.bits[(i / 64) as usize] &= !(1 << (i % 64));
            self.ones -= 1;
        }
    }

    /// Wire form: one bit per piece, most significant bit first.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = vec![0u8; (self.len as usize).div_ceil(8)];
        for i in 0..self.len {
            if self.get(i) {
                out[(i / 8) as usize] |= 0x80 >> (i % 8);
            }
        }
        out
    }

    /// Sets the bits of a wire chunk covering pieces from `first`;
    /// bits past the end are ignored.
    pub fn merge_wire(&mut self, first: u32, bits: &[u8]) {
        for (byte_i, b) in bits.iter().enumerate() {
            for bit in 0..8u32 {
                if b & (0x80 >> bit) != 0 {
                    if let Some(i) = first.checked_add(byte_i as u32 * 8 + bit) {
                        self.set(i);
                    }
                }
            }
        }
    }

    /// Storage form: the piece count, then the wire bits.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.len.to_le_bytes().to_vec();
        out.extend(self.to_wire());
        out
    }

    /// Reads the storage form.
    pub fn from_bytes(b: &[u8]) -> Option<Bitmap> {
        let (len, bits) = b.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len);
        if bits.len() != (len as usize).div_ceil(8) {
            return None;
        }
        let mut m = Bitmap::new(len);
        m.merge_wire(0, bits);
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::Bitmap;

    #[test]
    fn bits_round_trip_in_both_forms() {
        let mut b = Bitmap::new(70);
        for i in [0, 7, 8, 63, 64, 69, 70, 1000] {
            b.set(i);
        }
        assert_eq!(b.count(), 6, "out-of-range pieces are ignored");
        assert_eq!(b.to_wire()[0], 0b1000_0001);
        let mut c = Bitmap::new(70);
        c.merge_wire(0, &b.to_wire());
        assert_eq!(c, b);
        assert_eq!(Bitmap::from_bytes(&b.to_bytes()), Some(b.clone()));
        assert_eq!(Bitmap::from_bytes(&[1, 0, 0, 0]), None, "wrong length");
        assert!(Bitmap::full(70).complete() && !b.complete());
    }
}
