//! Sanitising of uploaded images (PRIVACY.md PRV-04; ACCOUNTS-DESIGN.md "Image sanitising").
//!
//! A photo straight from a phone carries personal information beyond its pixels: EXIF (camera
//! serial number, time taken, **GPS position**), XMP, ICC profiles, comments. [`sanitize_image`]
//! never copies any of it: it decodes the pixels and encodes a new file from them, so the output
//! holds only what the encoder writes (a JFIF header for JPEG; `IHDR`/`IDAT`/`IEND` for PNG).
//!
//! Order of the checks, cheapest first, so that hostile input costs little:
//! 1. size of the upload ([`ImageLimits::max_bytes`], bytes);
//! 2. type sniffed from the magic bytes — JPEG, PNG or WebP only; a file name or `Content-Type`
//!    is never trusted;
//! 3. dimensions read from the header alone (by this crate, from a few bytes at fixed places —
//!    see `header.rs` for the layouts and their standards) and checked against [`ImageLimits::max_side`] and
//!    [`ImageLimits::max_pixels`] **before** any pixel buffer is allocated (a 30000×30000 PNG of a
//!    few hundred bytes would otherwise ask for 3.6 GB — a decompression bomb);
//! 4. a JPEG must end with its EOI marker (the decoder would fill a cut-off file with grey);
//! 5. decoding under [`image::Limits`] (the same width/height limits plus an allocation cap) as a
//!    second line of defence;
//! 6. EXIF orientation applied to the pixels (the tag itself is dropped, so the picture would
//!    otherwise turn sideways), downscaling to [`ImageLimits::target_side`] keeping the aspect
//!    ratio, and re-encoding as JPEG (quality [`JPEG_QUALITY`]) or, when the image has
//!    transparent pixels, PNG.
//!
//! Nothing here panics on any input (unit and property tests; every error is a [`MediaError`]).
//!
//! Library: `image` 0.25 (image-rs), built with only its `jpeg` (zune-jpeg), `png` and `webp`
//! (image-webp) codecs.

use std::fmt;
use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader};

mod header;

/// JPEG quality (1–100) of re-encoded images: visually close to the source at avatar sizes.
pub const JPEG_QUALITY: u8 = 85;

/// One mebibyte, 1,048,576 bytes.
const MIB: usize = 1024 * 1024;

/// Limits applied by [`sanitize_image`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest accepted upload, in bytes.
    pub max_bytes: usize,
    /// Largest accepted `width × height` from the header, in pixels.
    pub max_pixels: u64,
    /// Largest accepted width or height from the header, in pixels.
    pub max_side: u32,
    /// Longest side of the output, in pixels; smaller images are not enlarged.
    pub target_side: u32,
}

impl ImageLimits {
    /// Avatars: uploads up to 2 MiB (ACCOUNTS-DESIGN.md C "Profile"), at most 36 megapixels
    /// (e.g. 6000×6000; decoded as 8-bit RGBA that is at most 144 MB) and 12000 pixels a side,
    /// output at most 512 pixels a side.
    pub const AVATAR: ImageLimits = ImageLimits {
        max_bytes: 2 * MIB,
        max_pixels: 36_000_000,
        max_side: 12_000,
        target_side: 512,
    };

    /// The allocation cap given to the decoder ([`image::Limits::max_alloc`]), in bytes: the
    /// pixel limit at 4 bytes a pixel (8-bit RGBA) plus 64 MiB for the decoders' working buffers.
    /// 16-bit images near the pixel limit exceed it and are refused as too many pixels.
    pub fn max_decode_alloc(&self) -> u64 {
        self.max_pixels
            .saturating_mul(4)
            .saturating_add(64 * MIB as u64)
    }
}

/// The image types accepted, recognised by their magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageType {
    /// JPEG/JFIF/EXIF: starts `FF D8 FF` (ISO/IEC 10918-1 SOI marker + next marker).
    Jpeg,
    /// PNG: starts with the 8-byte signature `89 50 4E 47 0D 0A 1A 0A` (ISO/IEC 15948 §5.2).
    Png,
    /// WebP: a RIFF container, `RIFF` at offset 0 and `WEBP` at offset 8 (RFC 9649 §2.5).
    Webp,
}

impl ImageType {
    /// Recognises the type from the first bytes; `None` for anything else (GIF, HEIC, SVG, …).
    pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageType::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageType::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageType::Webp)
        } else {
            None
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            ImageType::Jpeg => ImageFormat::Jpeg,
            ImageType::Png => ImageFormat::Png,
            ImageType::Webp => ImageFormat::WebP,
        }
    }
}

/// Why an image was refused. Messages name the problem, never the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The bytes are not a JPEG, PNG or WebP file (or use a variant of one the decoder does not
    /// support).
    #[error("not a JPEG, PNG or WebP image")]
    UnsupportedType,
    /// The upload is larger than [`ImageLimits::max_bytes`].
    #[error("image is {found} bytes, more than the limit of {max} bytes")]
    TooLarge {
        /// The limit, in bytes.
        max: usize,
        /// The upload's size, in bytes.
        found: usize,
    },
    /// The header's dimensions exceed [`ImageLimits::max_side`] or [`ImageLimits::max_pixels`],
    /// or decoding would exceed [`ImageLimits::max_decode_alloc`].
    #[error("image is {width}x{height} pixels, more than allowed")]
    TooManyPixels {
        /// Width from the header, in pixels.
        width: u32,
        /// Height from the header, in pixels.
        height: u32,
    },
    /// The file is truncated or its data is invalid.
    #[error("image data is corrupt or truncated")]
    Corrupt,
}

impl MediaError {
    /// Stable kebab-case reason id for the `image-rejected` problem type (ACCOUNTS-DESIGN.md
    /// "Errors"): `unsupported-type`, `too-large`, `too-many-pixels`, `corrupt`.
    pub fn reason(&self) -> &'static str {
        match self {
            MediaError::UnsupportedType => "unsupported-type",
            MediaError::TooLarge { .. } => "too-large",
            MediaError::TooManyPixels { .. } => "too-many-pixels",
            MediaError::Corrupt => "corrupt",
        }
    }

    /// HTTP status for the refusal: 415 Unsupported Media Type, 413 Content Too Large, 422
    /// Unprocessable Content (too many pixels, corrupt) — RFC 9110 §15.5.16, §15.5.14, §15.5.21.
    pub fn http_status(&self) -> u16 {
        match self {
            MediaError::UnsupportedType => 415,
            MediaError::TooLarge { .. } => 413,
            MediaError::TooManyPixels { .. } | MediaError::Corrupt => 422,
        }
    }

    /// The message for users, in Simplified Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            MediaError::UnsupportedType => "仅支持 JPEG、PNG 或 WebP 格式的图片".to_string(),
            MediaError::TooLarge { max, .. } => {
                format!("图片文件过大，不能超过 {} KB", max / 1024)
            }
            MediaError::TooManyPixels { .. } => "图片尺寸过大，请缩小后重新上传".to_string(),
            MediaError::Corrupt => "图片文件已损坏或不完整".to_string(),
        }
    }
}

/// A re-encoded image without metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct SanitizedImage {
    /// The encoded file (JPEG or PNG).
    pub bytes: Vec<u8>,
    /// `image/jpeg` or `image/png`.
    pub mime: &'static str,
    /// Width, in pixels.
    pub width: u32,
    /// Height, in pixels.
    pub height: u32,
}

impl SanitizedImage {
    /// File extension for [`SanitizedImage::mime`]: `jpg` or `png`.
    pub fn extension(&self) -> &'static str {
        if self.mime == "image/png" {
            "png"
        } else {
            "jpg"
        }
    }
}

/// Shows the shape only; the pixels of a photo of a person are personal information.
impl fmt::Debug for SanitizedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SanitizedImage")
            .field("mime", &self.mime)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Checks, decodes, downscales and re-encodes an uploaded image so that no metadata survives
/// (see the crate docs for the order of the checks).
///
/// The output is at most [`ImageLimits::target_side`] pixels on its longest side (smaller images
/// keep their size), upright according to the source's EXIF orientation, 8-bit RGB JPEG — or
/// 8-bit RGBA PNG when some pixel is not fully opaque.
///
/// # Errors
/// * [`MediaError::TooLarge`] — more than [`ImageLimits::max_bytes`];
/// * [`MediaError::UnsupportedType`] — not JPEG/PNG/WebP by its magic bytes, or a variant the
///   decoder does not support;
/// * [`MediaError::TooManyPixels`] — header dimensions over the limits (checked before decoding),
///   or the decoder's allocation cap reached;
/// * [`MediaError::Corrupt`] — unreadable header, truncated or invalid data, zero dimensions.
pub fn sanitize_image(bytes: &[u8], limits: &ImageLimits) -> Result<SanitizedImage, MediaError> {
    if bytes.len() > limits.max_bytes {
        return Err(MediaError::TooLarge {
            max: limits.max_bytes,
            found: bytes.len(),
        });
    }
    let kind = ImageType::sniff(bytes).ok_or(MediaError::UnsupportedType)?;
    // Header only, read by this crate from a few bytes: no decoder has seen the file yet.
    let (width, height) = header::dimensions(kind, bytes)?;
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt);
    }
    if width > limits.max_side
        || height > limits.max_side
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(MediaError::TooManyPixels { width, height });
    }
    // The JPEG decoder fills a cut-off scan with grey instead of failing: refuse it here.
    if kind == ImageType::Jpeg && !header::jpeg_is_complete(bytes) {
        return Err(MediaError::Corrupt);
    }

    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(limits.max_side);
    decode_limits.max_image_height = Some(limits.max_side);
    decode_limits.max_alloc = Some(limits.max_decode_alloc());
    let mut r = ImageReader::with_format(Cursor::new(bytes), kind.format());
    r.limits(decode_limits);
    let mut decoder = r.into_decoder().map_err(|e| map_error(e, width, height))?;
    // A broken orientation tag is ignored rather than refused: the pixels are still good.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| map_error(e, width, height))?;
    img.apply_orientation(orientation);

    let target = limits.target_side.max(1);
    if img.width() > target || img.height() > target {
        img = img.resize(target, target, FilterType::Triangle);
    }
    encode(&img)
}

/// Encodes without any metadata: PNG (RGBA8) when a pixel is not fully opaque, else JPEG (RGB8).
fn encode(img: &DynamicImage) -> Result<SanitizedImage, MediaError> {
    let (width, height) = (img.width(), img.height());
    let mut out = Vec::new();
    let rgba = img.color().has_alpha().then(|| img.to_rgba8());
    let mime = match rgba {
        Some(rgba) if rgba.pixels().any(|p| p.0[3] < u8::MAX) => {
            PngEncoder::new(&mut out)
                .write_image(
                    rgba.as_raw(),
                    width,
                    height,
                    image::ExtendedColorType::Rgba8,
                )
                .map_err(|_| MediaError::Corrupt)?;
            "image/png"
        }
        _ => {
            let rgb = img.to_rgb8();
            JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
                .write_image(rgb.as_raw(), width, height, image::ExtendedColorType::Rgb8)
                .map_err(|_| MediaError::Corrupt)?;
            "image/jpeg"
        }
    };
    Ok(SanitizedImage {
        bytes: out,
        mime,
        width,
        height,
    })
}

fn map_error(e: ImageError, width: u32, height: u32) -> MediaError {
    match e {
        ImageError::Limits(_) => MediaError::TooManyPixels { width, height },
        ImageError::Unsupported(_) => MediaError::UnsupportedType,
        _ => MediaError::Corrupt,
    }
}

#[cfg(test)]
mod tests;
