//! Dimensions read from the file header alone, without a decoder: a few bytes at known offsets,
//! so that a decompression bomb is refused before any library allocates for it.
//!
//! Layouts:
//! * PNG — ISO/IEC 15948 (PNG 2nd ed.) §5.2–5.3, §11.2.2: 8-byte signature, then the `IHDR` chunk
//!   first (length 4, type 4, width u32 BE, height u32 BE).
//! * JPEG — ITU-T T.81 | ISO/IEC 10918-1 Annex B: marker segments after SOI; the frame header
//!   (SOF0–SOF15 except DHT C4, JPG C8, DAC CC) holds `Lf(16) P(8) Y(16) X(16)`, height `Y`,
//!   width `X`. Standalone markers (TEM, RST0–7, SOI) have no length.
//! * WebP — RFC 9649 §2.5–2.7: `RIFF` size `WEBP`, then the first chunk: `VP8 ` (lossy: 3-byte
//!   frame tag, start code `9D 01 2A`, 14-bit width and height LE), `VP8L` (lossless: signature
//!   `2F`, 14-bit width−1 and height−1), `VP8X` (extended: 4 bytes of flags, 24-bit canvas
//!   width−1 and height−1 LE).

use crate::{ImageType, MediaError};

/// Width and height in pixels from the header of a file of type `kind`.
///
/// # Errors
/// [`MediaError::Corrupt`] when the header is missing, truncated or malformed.
pub(crate) fn dimensions(kind: ImageType, b: &[u8]) -> Result<(u32, u32), MediaError> {
    match kind {
        ImageType::Png => png(b),
        ImageType::Jpeg => jpeg_frame(b).map(|(w, h, _)| (w, h)),
        ImageType::Webp => webp(b),
    }
    .ok_or(MediaError::Corrupt)
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 2)?;
    Some(u32::from(u16::from_be_bytes([s[0], s[1]])))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 2)?;
    Some(u32::from(u16::from_le_bytes([s[0], s[1]])))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], 0]))
}

fn png(b: &[u8]) -> Option<(u32, u32)> {
    if b.get(12..16)? != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(b.get(16..20)?.try_into().ok()?);
    let h = u32::from_be_bytes(b.get(20..24)?.try_into().ok()?);
    Some((w, h))
}

/// Whether `m` is a start-of-frame marker (SOF0–SOF15 minus C4 DHT, C8 JPG, CC DAC).
fn is_sof(m: u8) -> bool {
    matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC)
}

/// Walks the marker segments from SOI: the frame's width and height, and the offset just after
/// the first SOS segment header (where the entropy-coded data starts). `None` when the file
/// ends or is malformed before both are found.
fn jpeg_frame(b: &[u8]) -> Option<(u32, u32, usize)> {
    let mut i = 2; // after SOI
    let mut frame = None;
    loop {
        if *b.get(i)? != 0xFF {
            return None;
        }
        // Fill bytes: any number of 0xFF before the marker code (T.81 B.1.1.2).
        while *b.get(i + 1)? == 0xFF {
            i += 1;
        }
        let marker = *b.get(i + 1)?;
        if marker == 0x01 || (0xD0..=0xD8).contains(&marker) {
            i += 2;
            continue;
        }
        if marker == 0xD9 {
            return None;
        }
        let len = usize::try_from(be16(b, i + 2)?).ok()?;
        if len < 2 {
            return None;
        }
        if is_sof(marker) {
            let h = be16(b, i + 5)?;
            let w = be16(b, i + 7)?;
            frame = Some((w, h));
        }
        if marker == 0xDA {
            let (w, h) = frame?;
            return Some((w, h, i + 2 + len));
        }
        i += 2 + len;
    }
}

/// Whether a JPEG ends properly: an EOI marker (`FF D9`) follows the first scan. Entropy-coded
/// data never contains `FF D9` (an `FF` data byte is stuffed as `FF 00`, T.81 B.1.1.5), so its
/// absence means the file was cut off. Bytes after EOI (trailers some cameras add) are allowed.
pub(crate) fn jpeg_is_complete(b: &[u8]) -> bool {
    match jpeg_frame(b) {
        Some((_, _, scan)) => b
            .get(scan..)
            .is_some_and(|rest| rest.windows(2).any(|w| w == [0xFF, 0xD9])),
        None => false,
    }
}

fn webp(b: &[u8]) -> Option<(u32, u32)> {
    let data = 20; // RIFF(4) size(4) WEBP(4) fourcc(4) chunk size(4)
    match b.get(12..16)? {
        b"VP8 " => {
            if b.get(data + 3..data + 6)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            Some((le16(b, data + 6)? & 0x3FFF, le16(b, data + 8)? & 0x3FFF))
        }
        b"VP8L" => {
            if *b.get(data)? != 0x2F {
                return None;
            }
            let bits = u32::from_le_bytes(b.get(data + 1..data + 5)?.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(b, data + 4)? + 1, le24(b, data + 7)? + 1)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_headers_are_none() {
        assert_eq!(
            png(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDX\0\0\0\x01\0\0\0\x01"),
            None
        );
        assert_eq!(png(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0"), None);
        // SOS before any frame header; EOI before SOS; a length below 2.
        assert_eq!(
            jpeg_frame(b"\xFF\xD8\xFF\xDA\0\x08\x01\x01\0\0\x3F\0"),
            None
        );
        assert_eq!(jpeg_frame(b"\xFF\xD8\xFF\xD9"), None);
        assert_eq!(jpeg_frame(b"\xFF\xD8\xFF\xE0\0\x01"), None);
        assert_eq!(
            webp(b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\x9D\x01\x2B"),
            None
        );
        assert_eq!(webp(b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2E"), None);
        assert_eq!(webp(b"RIFF\0\0\0\0WEBPALPH\0\0\0\0"), None);
        assert!(!jpeg_is_complete(b"\xFF\xD8"));
    }

    #[test]
    fn webp_variants() {
        // VP8X canvas 16384 × 100 (stored as width−1, height−1, 24-bit LE).
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
        vp8x.extend_from_slice(&[0xFF, 0x3F, 0x00, 99, 0, 0]);
        assert_eq!(webp(&vp8x), Some((16384, 100)));
        // VP8L 3 × 2: bits = (w−1) | (h−1) << 14.
        let bits: u32 = 2 | (1 << 14);
        let mut vp8l = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2F".to_vec();
        vp8l.extend_from_slice(&bits.to_le_bytes());
        assert_eq!(webp(&vp8l), Some((3, 2)));
        // VP8 (lossy) 640 × 480 with the scale bits set (ignored).
        let mut vp8 = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\x9D\x01\x2A".to_vec();
        vp8.extend_from_slice(&(640u16 | 0x4000).to_le_bytes());
        vp8.extend_from_slice(&480u16.to_le_bytes());
        assert_eq!(webp(&vp8), Some((640, 480)));
    }
}
