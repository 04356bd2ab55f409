//! Tests of [`sanitize_image`]: metadata removal, bombs refused from the header, broken input.

use super::*;
use image::{GenericImageView, ImageBuffer, Rgb, Rgba};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Builders of test files.

fn gradient(width: u32, height: u32) -> image::RgbImage {
    ImageBuffer::from_fn(width, height, |x, y| {
        Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
    })
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            gradient(width, height).as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn png_rgba(width: u32, height: u32, alpha: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let img: image::RgbaImage = ImageBuffer::from_fn(width, height, |x, y| {
        Rgba([200, (x % 256) as u8, 50, alpha(x, y)])
    });
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

fn webp(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(
            gradient(width, height).as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

/// Latitude 39°54'27.12" N, longitude 116°23'44.58" E (Tian'anmen), as EXIF rationals.
const LAT: [(u32, u32); 3] = [(39, 1), (54, 1), (2712, 100)];
const LON: [(u32, u32); 3] = [(116, 1), (23, 1), (4458, 100)];
/// A maker note that would identify the device; must not survive.
const SERIAL: &[u8] = b"SERIAL-4471-CANARY";

/// A little-endian TIFF structure as carried in an EXIF APP1 segment (CIPA DC-008 / EXIF 2.32):
/// IFD0 with Orientation (0x0112), BodySerialNumber-like ASCII (0xA431) and the GPS IFD pointer
/// (0x8825); the GPS IFD with GPSLatitudeRef/GPSLatitude/GPSLongitudeRef/GPSLongitude.
fn exif_tiff(orientation: u16) -> Vec<u8> {
    fn entry(t: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: [u8; 4]) {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&typ.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value);
    }
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    let ifd0 = 8u32;
    let ifd0_len = 2 + 3 * 12 + 4;
    let serial_at = ifd0 + ifd0_len;
    let gps_ifd = serial_at + SERIAL.len() as u32 + 1;
    let gps_len = 2 + 4 * 12 + 4;
    let lat_at = gps_ifd + gps_len;
    let lon_at = lat_at + 24;

    let mut t = b"II\x2a\x00".to_vec();
    t.extend_from_slice(&ifd0.to_le_bytes());
    t.extend_from_slice(&3u16.to_le_bytes());
    let o = orientation.to_le_bytes();
    entry(&mut t, 0x0112, SHORT, 1, [o[0], o[1], 0, 0]);
    entry(&mut t, 0x8825, LONG, 1, gps_ifd.to_le_bytes());
    entry(
        &mut t,
        0xA431,
        ASCII,
        SERIAL.len() as u32 + 1,
        serial_at.to_le_bytes(),
    );
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(SERIAL);
    t.push(0);
    assert_eq!(t.len() as u32, gps_ifd);
    t.extend_from_slice(&4u16.to_le_bytes());
    entry(&mut t, 0x0001, ASCII, 2, *b"N\0\0\0");
    entry(&mut t, 0x0002, RATIONAL, 3, lat_at.to_le_bytes());
    entry(&mut t, 0x0003, ASCII, 2, *b"E\0\0\0");
    entry(&mut t, 0x0004, RATIONAL, 3, lon_at.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in LAT.iter().chain(LON.iter()) {
        t.extend_from_slice(&n.to_le_bytes());
        t.extend_from_slice(&d.to_le_bytes());
    }
    t
}

/// The GPS latitude as it appears in the file.
fn lat_bytes() -> Vec<u8> {
    LAT.iter()
        .flat_map(|(n, d)| n.to_le_bytes().into_iter().chain(d.to_le_bytes()))
        .collect()
}

/// Inserts marker segments right after the SOI marker of a JPEG.
fn insert_segments(jpeg: &[u8], segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    for (marker, payload) in segments {
        out.extend_from_slice(&[0xFF, *marker]);
        out.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A JPEG carrying EXIF (with GPS, a serial number and the given orientation), XMP, an ICC
/// profile and a comment.
fn jpeg_with_metadata(width: u32, height: u32, orientation: u16) -> Vec<u8> {
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend(exif_tiff(orientation));
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend_from_slice(
        b"<x:xmpmeta><exif:GPSLatitude>39,54.452N</exif:GPSLatitude></x:xmpmeta>",
    );
    let mut icc = b"ICC_PROFILE\0\x01\x01".to_vec();
    icc.extend_from_slice(&[0u8; 128]);
    insert_segments(
        &jpeg(width, height),
        &[
            (0xE1, exif),
            (0xE1, xmp),
            (0xE2, icc),
            (0xFE, b"taken at home by Zhang San".to_vec()),
        ],
    )
}

/// Markers of the segments before the scan data (SOS), in order.
fn jpeg_markers(b: &[u8]) -> Vec<u8> {
    assert_eq!(&b[..2], &[0xFF, 0xD8]);
    let mut i = 2;
    let mut markers = Vec::new();
    while i + 4 <= b.len() {
        assert_eq!(b[i], 0xFF, "segment at {i}");
        let marker = b[i + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        i += 2 + len;
    }
    markers
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// CRC-32 (ISO 3309, as PNG uses it; ISO/IEC 15948 Annex D), bitwise.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    c.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    c
}

/// Inserts chunks after IHDR (signature 8 bytes + IHDR 25 bytes).
fn insert_png_chunks(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = png[..33].to_vec();
    for c in chunks {
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&png[33..]);
    out
}

/// Signature + IHDR claiming `width × height` RGBA8 + IEND, and no pixel data at all.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

// ---------------------------------------------------------------------------------------------
// Metadata removal.

#[test]
fn jpeg_exif_gps_xmp_icc_and_comments_are_gone() {
    let input = jpeg_with_metadata(64, 48, 1);
    // The test file really carries the metadata, where a decoder finds it.
    assert!(jpeg_markers(&input).contains(&0xE1));
    assert!(contains(&input, &lat_bytes()));
    assert!(contains(&input, SERIAL));
    let mut dec = ImageReader::with_format(Cursor::new(&input), ImageFormat::Jpeg)
        .into_decoder()
        .unwrap();
    assert!(dec.exif_metadata().unwrap().is_some());

    let out = sanitize_image(&input, &ImageLimits::AVATAR).unwrap();
    assert_eq!(out.mime, "image/jpeg");
    assert_eq!(out.extension(), "jpg");
    assert_eq!((out.width, out.height), (64, 48));
    let markers = jpeg_markers(&out.bytes);
    assert!(
        markers
            .iter()
            .all(|m| !(0xE1..=0xEF).contains(m) && *m != 0xFE),
        "{markers:x?}"
    );
    for needle in [
        &b"Exif\0\0"[..],
        b"ICC_PROFILE",
        b"http://ns.adobe.com",
        b"Zhang San",
        SERIAL,
        &lat_bytes(),
    ] {
        assert!(
            !contains(&out.bytes, needle),
            "{:?}",
            String::from_utf8_lossy(needle)
        );
    }
    let mut dec = ImageReader::with_format(Cursor::new(&out.bytes), ImageFormat::Jpeg)
        .into_decoder()
        .unwrap();
    assert!(dec.exif_metadata().unwrap().is_none());
    assert!(dec.icc_profile().unwrap().is_none());
    // Still the same picture (the gradient's corners).
    let img = image::load_from_memory(&out.bytes).unwrap();
    let (tl, br) = (img.get_pixel(0, 0), img.get_pixel(63, 47));
    assert!(tl.0[0] < 30 && tl.0[1] < 30, "{tl:?}");
    assert!(br.0[0] > 220 && br.0[1] > 220, "{br:?}");
}

#[test]
fn exif_orientation_is_applied_before_the_tag_is_dropped() {
    // Orientation 6: the stored 40×20 pixels are shown rotated 90° clockwise, 20×40.
    let out = sanitize_image(&jpeg_with_metadata(40, 20, 6), &ImageLimits::AVATAR).unwrap();
    assert_eq!((out.width, out.height), (20, 40));
    let img = image::load_from_memory(&out.bytes).unwrap();
    assert_eq!(img.dimensions(), (20, 40));
}

#[test]
fn png_text_exif_and_xmp_chunks_are_gone() {
    let base = png_rgba(30, 20, |x, _| if x < 5 { 0 } else { 255 });
    let mut exif = b"".to_vec();
    exif.extend(exif_tiff(1));
    let input = insert_png_chunks(
        &base,
        &[
            png_chunk(b"tEXt", b"Author\0Zhang San"),
            png_chunk(b"eXIf", &exif),
            png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>"),
        ],
    );
    let out = sanitize_image(&input, &ImageLimits::AVATAR).unwrap();
    // Transparent pixels: the output stays PNG, with its alpha.
    assert_eq!(out.mime, "image/png");
    assert_eq!(out.extension(), "png");
    for needle in [
        &b"tEXt"[..],
        b"eXIf",
        b"iTXt",
        b"iCCP",
        b"Zhang San",
        SERIAL,
    ] {
        assert!(
            !contains(&out.bytes, needle),
            "{:?}",
            String::from_utf8_lossy(needle)
        );
    }
    let img = image::load_from_memory(&out.bytes).unwrap();
    assert_eq!(img.get_pixel(0, 0).0[3], 0);
    assert_eq!(img.get_pixel(29, 0).0[3], 255);
}

#[test]
fn opaque_png_becomes_jpeg() {
    let out = sanitize_image(&png_rgba(30, 20, |_, _| 255), &ImageLimits::AVATAR).unwrap();
    assert_eq!(out.mime, "image/jpeg");
    assert_eq!((out.width, out.height), (30, 20));
}

#[test]
fn webp_is_accepted_and_reencoded() {
    let out = sanitize_image(&webp(50, 40), &ImageLimits::AVATAR).unwrap();
    assert_eq!(out.mime, "image/jpeg");
    assert_eq!((out.width, out.height), (50, 40));
    assert_eq!(ImageType::sniff(&out.bytes), Some(ImageType::Jpeg));
}

#[test]
fn downscales_keeping_the_aspect_ratio() {
    let out = sanitize_image(&jpeg(2000, 1000), &ImageLimits::AVATAR).unwrap();
    assert_eq!((out.width, out.height), (512, 256));
    let out = sanitize_image(&jpeg(300, 1200), &ImageLimits::AVATAR).unwrap();
    assert_eq!((out.width, out.height), (128, 512));
    // Extreme aspect ratios keep at least one pixel on the short side.
    let out = sanitize_image(&png_rgba(6000, 1, |_, _| 255), &ImageLimits::AVATAR).unwrap();
    assert_eq!((out.width, out.height), (512, 1));
    let out = sanitize_image(&png_rgba(1, 6000, |_, _| 255), &ImageLimits::AVATAR).unwrap();
    assert_eq!((out.width, out.height), (1, 512));
    // Never enlarged.
    let out = sanitize_image(&jpeg(100, 50), &ImageLimits::AVATAR).unwrap();
    assert_eq!((out.width, out.height), (100, 50));
    let decoded = image::load_from_memory(&out.bytes).unwrap();
    assert_eq!(decoded.dimensions(), (100, 50));
}

// ---------------------------------------------------------------------------------------------
// Limits.

#[test]
fn huge_png_header_is_refused_before_decoding() {
    // 30000×30000 RGBA would need 3.6 GB; the file has no pixel data at all, so reaching the
    // decoder would give `Corrupt`: `TooManyPixels` shows the header check came first.
    let bomb = png_header_only(30_000, 30_000);
    assert!(bomb.len() < 100);
    assert_eq!(
        sanitize_image(&bomb, &ImageLimits::AVATAR),
        Err(MediaError::TooManyPixels {
            width: 30_000,
            height: 30_000
        })
    );
    // Within max_side each way but over max_pixels: 11000 × 11000 = 121 MP.
    assert_eq!(
        sanitize_image(&png_header_only(11_000, 11_000), &ImageLimits::AVATAR),
        Err(MediaError::TooManyPixels {
            width: 11_000,
            height: 11_000
        })
    );
    // Over max_side alone: 20000 × 10 pixels is few pixels but a side too long.
    assert_eq!(
        sanitize_image(&png_header_only(20_000, 10), &ImageLimits::AVATAR),
        Err(MediaError::TooManyPixels {
            width: 20_000,
            height: 10
        })
    );
    // A plausible header with no data passes the limits and fails in the decoder.
    assert_eq!(
        sanitize_image(&png_header_only(100, 100), &ImageLimits::AVATAR),
        Err(MediaError::Corrupt)
    );
}

#[test]
fn huge_jpeg_header_is_refused_before_decoding() {
    let mut bomb = jpeg(16, 16);
    // Patch the baseline SOF0 frame header: FF C0, length (2), precision (1), height, width.
    let sof = bomb
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("SOF0");
    bomb[sof + 5..sof + 7].copy_from_slice(&30_000u16.to_be_bytes());
    bomb[sof + 7..sof + 9].copy_from_slice(&30_000u16.to_be_bytes());
    assert_eq!(
        sanitize_image(&bomb, &ImageLimits::AVATAR),
        Err(MediaError::TooManyPixels {
            width: 30_000,
            height: 30_000
        })
    );
}

#[test]
fn huge_webp_header_is_refused_before_decoding() {
    // Lossless VP8L claiming 16384 × 16384 (the format's maximum), no image data after it.
    let bits: u32 = 16383 | (16383 << 14);
    let mut bomb = b"RIFF\x0e\0\0\0WEBPVP8L\x05\0\0\0\x2F".to_vec();
    bomb.extend_from_slice(&bits.to_le_bytes());
    assert_eq!(
        sanitize_image(&bomb, &ImageLimits::AVATAR),
        Err(MediaError::TooManyPixels {
            width: 16_384,
            height: 16_384
        })
    );
    // Extended VP8X canvas of 16777216 × 1 (24-bit width − 1 = 0xFFFFFF).
    let mut bomb = b"RIFF\x16\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
    bomb.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0, 0, 0]);
    assert_eq!(
        sanitize_image(&bomb, &ImageLimits::AVATAR),
        Err(MediaError::TooManyPixels {
            width: 16_777_216,
            height: 1
        })
    );
}

#[test]
fn jpeg_without_end_marker_is_corrupt() {
    let full = jpeg(64, 64);
    assert_eq!(&full[full.len() - 2..], &[0xFF, 0xD9]);
    assert_eq!(
        sanitize_image(&full[..full.len() - 2], &ImageLimits::AVATAR),
        Err(MediaError::Corrupt)
    );
    // Bytes after EOI (camera trailers) are fine.
    let mut trailer = full.clone();
    trailer.extend_from_slice(b"trailing vendor data");
    assert!(sanitize_image(&trailer, &ImageLimits::AVATAR).is_ok());
}

#[test]
fn pixel_limit_applies_to_real_images() {
    let limits = ImageLimits {
        max_pixels: 1_000,
        ..ImageLimits::AVATAR
    };
    assert_eq!(
        sanitize_image(&jpeg(40, 40), &limits),
        Err(MediaError::TooManyPixels {
            width: 40,
            height: 40
        })
    );
    assert!(sanitize_image(&jpeg(40, 25), &limits).is_ok());
}

#[test]
fn too_large_is_refused_first() {
    let limits = ImageLimits {
        max_bytes: 1_000,
        ..ImageLimits::AVATAR
    };
    let big = jpeg(200, 200);
    assert!(big.len() > 1_000);
    assert_eq!(
        sanitize_image(&big, &limits),
        Err(MediaError::TooLarge {
            max: 1_000,
            found: big.len()
        })
    );
    // Even garbage: the size is checked before anything else.
    assert_eq!(
        sanitize_image(&[0u8; 1_001], &limits).unwrap_err().reason(),
        "too-large"
    );
    assert_eq!(ImageLimits::AVATAR.max_bytes, 2 * 1024 * 1024);
}

// ---------------------------------------------------------------------------------------------
// Broken input.

#[test]
fn unsupported_types() {
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec();
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    for bytes in [
        gif,
        svg,
        heic,
        b"".to_vec(),
        b"hello".to_vec(),
        b"RIFF\0\0\0\0WAVE".to_vec(),
    ] {
        assert_eq!(
            sanitize_image(&bytes, &ImageLimits::AVATAR),
            Err(MediaError::UnsupportedType)
        );
    }
}

#[test]
fn truncated_and_garbage_files_are_corrupt() {
    for (name, full) in [
        ("jpeg", jpeg(64, 64)),
        ("png", png_rgba(64, 64, |_, _| 200)),
        ("webp", webp(64, 64)),
    ] {
        // Cut inside the header / first data: always an error.
        for cut in [3usize, 8, 12, 20, 30, 40] {
            let r = sanitize_image(&full[..cut.min(full.len() - 1)], &ImageLimits::AVATAR);
            assert!(
                matches!(r, Err(MediaError::Corrupt | MediaError::UnsupportedType)),
                "{name} cut at {cut}: {r:?}"
            );
        }
        // Cut in the middle of the data.
        let r = sanitize_image(&full[..full.len() / 2], &ImageLimits::AVATAR);
        assert_eq!(r, Err(MediaError::Corrupt), "{name} cut in half");
    }
    // Valid magic bytes followed by garbage.
    for magic in [
        &b"\xFF\xD8\xFF"[..],
        b"\x89PNG\r\n\x1a\n",
        b"RIFF\x10\0\0\0WEBPVP8 ",
    ] {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&[0x5Au8; 64]);
        assert_eq!(
            sanitize_image(&bytes, &ImageLimits::AVATAR),
            Err(MediaError::Corrupt)
        );
    }
}

#[test]
fn every_prefix_gives_a_result_without_panicking() {
    for full in [
        jpeg(24, 16),
        png_rgba(24, 16, |x, _| (x * 10) as u8),
        webp(24, 16),
    ] {
        for cut in 0..full.len() {
            let _ = sanitize_image(&full[..cut], &ImageLimits::AVATAR);
        }
    }
}

#[test]
fn errors_have_reasons_statuses_and_messages() {
    let all = [
        MediaError::UnsupportedType,
        MediaError::TooLarge {
            max: 2 * 1024 * 1024,
            found: 3 * 1024 * 1024,
        },
        MediaError::TooManyPixels {
            width: 1,
            height: 1,
        },
        MediaError::Corrupt,
    ];
    let reasons: Vec<_> = all.iter().map(MediaError::reason).collect();
    assert_eq!(
        reasons,
        [
            "unsupported-type",
            "too-large",
            "too-many-pixels",
            "corrupt"
        ]
    );
    let statuses: Vec<_> = all.iter().map(MediaError::http_status).collect();
    assert_eq!(statuses, [415, 413, 422, 422]);
    assert!(all[1].message_zh().contains("2048 KB"));
}

#[test]
fn debug_shows_the_shape_not_the_pixels() {
    let out = sanitize_image(&jpeg(10, 10), &ImageLimits::AVATAR).unwrap();
    let text = format!("{out:?}");
    assert!(
        text.contains("image/jpeg") && text.contains("len"),
        "{text}"
    );
    assert!(!text.contains("255"), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = sanitize_image(&bytes, &ImageLimits::AVATAR);
    }

    #[test]
    fn arbitrary_bytes_after_magic_never_panic(
        magic in prop::sample::select(vec![&b"\xFF\xD8\xFF"[..], b"\x89PNG\r\n\x1a\n", b"RIFF\0\x01\0\0WEBP"]),
        tail in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = magic.to_vec();
        bytes.extend(tail);
        let _ = sanitize_image(&bytes, &ImageLimits::AVATAR);
    }

    #[test]
    fn mutated_images_never_panic(
        which in 0usize..3,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = match which {
            0 => jpeg(24, 16),
            1 => png_rgba(24, 16, |x, _| (x * 10) as u8),
            _ => webp(24, 16),
        };
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(out) = sanitize_image(&bytes, &ImageLimits::AVATAR) {
            prop_assert!(out.width <= 512 && out.height <= 512);
            prop_assert!(ImageType::sniff(&out.bytes).is_some());
        }
    }
}
