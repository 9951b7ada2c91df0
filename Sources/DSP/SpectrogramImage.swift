// SpectrogramImage.swift: render a (T, F) matrix, such as a log-mel, as a PNG through libpng's
// simplified write API (png_image_write_to_file, libpng 1.6). Time runs left to right, low
// frequencies sit at the bottom, and levels go through a hand-written magma-like gradient
// (control points read off matplotlib's magma, Smith & van der Walt 2015) so that equal steps
// in dB look like equal steps in brightness. The file is written to a temporary name in the
// same directory and renamed, so a reader never sees half an image.
//
// Letters: T frames (image columns), F bins or mel bands (image rows).

import Base
import CPNG
import Foundation

/// How the values handed to `SpectrogramImage.write` relate to loudness.
public enum SpectrogramScale: Sendable {
    /// ln of a magnitude, as `MelFilterbank.logMel` gives: dB = 20·log10(e)·v.
    case naturalLogMagnitude
    /// A magnitude: dB = 20·log10(v).
    case linearMagnitude
    /// Already in dB.
    case decibels
}

public enum SpectrogramImageError: Error, CustomStringConvertible {
    case badShape(count: Int, frames: Int, bins: Int)
    case directoryNotWritable(path: String, directory: String)
    case encodeFailed(path: String, reason: String)
    case renameFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .badShape(count, frames, bins):
            return "spectrogram image: \(count) values do not make a (frames \(frames), bins \(bins)) matrix; pass frames·bins values, frame-major"
        case let .directoryNotWritable(path, directory):
            return "cannot write spectrogram image '\(path)': directory '\(directory)' does not exist or is not writable; create it, fix its permissions, or choose another output path"
        case let .encodeFailed(path, reason):
            return "cannot write spectrogram image '\(path)': libpng failed (\(reason)); check free disk space and that the path is a writable file location"
        case let .renameFailed(path, reason):
            return "cannot move finished spectrogram image into place at '\(path)': \(reason); check that the path is not a directory and that the directory is writable"
        }
    }
}

public enum SpectrogramImage {
    /// Writes `values` (T, F), frame-major, as an RGB PNG of (T·pixelsPerFrame) × (F·pixelsPerBin) pixels.
    /// The colour range runs from the loudest value down `dynamicRange` dB, or to the quietest
    /// value when that is closer (auto-scaling).
    public static func write(_ values: [Float], frames: Int, bins: Int, to path: String,
                             scale: SpectrogramScale = .naturalLogMagnitude, dynamicRange: Float = 80,
                             pixelsPerFrame: Int = 1, pixelsPerBin: Int = 1) throws {
        guard frames > 0, bins > 0, values.count == frames * bins, pixelsPerFrame >= 1, pixelsPerBin >= 1 else {
            throw SpectrogramImageError.badShape(count: values.count, frames: frames, bins: bins)
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue,
              access(directory, W_OK) == 0 else {
            throw SpectrogramImageError.directoryNotWritable(path: path, directory: directory)
        }

        let (width, height, pixels) = render(values, frames: frames, bins: bins, scale: scale, dynamicRange: dynamicRange,
                                             pixelsPerFrame: pixelsPerFrame, pixelsPerBin: pixelsPerBin)

        let temp = TemporaryFiles.name(for: path)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_RGB)
        let ok = pixels.withUnsafeBufferPointer { px in
            png_image_write_to_file(&image, temp, 0, px.baseAddress, Int32(width * 3), nil)
        }
        if ok == 0 {
            let reason = withUnsafeBytes(of: image.message) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            png_image_free(&image)
            TemporaryFiles.discard(temp)
            throw SpectrogramImageError.encodeFailed(path: path, reason: reason.isEmpty ? "unknown error" : reason)
        }
        if !TemporaryFiles.commit(temp, to: path) {
            let reason = String(cString: strerror(errno))
            throw SpectrogramImageError.renameFailed(path: path, reason: reason)
        }
    }

    /// The RGB pixels `write` would encode: rows top to bottom (highest bin first), 3 bytes per pixel.
    public static func render(_ values: [Float], frames: Int, bins: Int,
                              scale: SpectrogramScale = .naturalLogMagnitude, dynamicRange: Float = 80,
                              pixelsPerFrame: Int = 1, pixelsPerBin: Int = 1) -> (width: Int, height: Int, rgb: [UInt8]) {
        precondition(values.count == frames * bins, "SpectrogramImage.render: \(values.count) values for \(frames)×\(bins)")
        let db: [Float] = values.map { v in   // (T, F)
            switch scale {
            case .naturalLogMagnitude: return v * 8.685889638   // 20 / ln 10
            case .linearMagnitude: return 20 * log10(max(v, 1e-10))
            case .decibels: return v
            }
        }
        let finite = db.filter { $0.isFinite }
        let top = finite.max() ?? 0
        let bottom = max(finite.min() ?? 0, top - dynamicRange)
        let span = top - bottom

        let width = frames * pixelsPerFrame, height = bins * pixelsPerBin
        var rgb = [UInt8](repeating: 0, count: width * height * 3)   // (height, width, 3)
        for t in 0..<frames {
            for f in 0..<bins {
                let v = db[t * bins + f]
                let level: Float = v.isFinite && span > 0 ? min(max((v - bottom) / span, 0), 1) : (v.isFinite && span == 0 ? 0.5 : 0)
                let (r, g, b) = magma(level)
                let row0 = (bins - 1 - f) * pixelsPerBin   // low frequencies at the bottom
                for dy in 0..<pixelsPerBin {
                    for dx in 0..<pixelsPerFrame {
                        let p = ((row0 + dy) * width + t * pixelsPerFrame + dx) * 3
                        rgb[p] = r; rgb[p + 1] = g; rgb[p + 2] = b
                    }
                }
            }
        }
        return (width, height, rgb)
    }

    // Magma-like gradient: black → purple → red-orange → pale yellow, linear between control points.
    static let magmaStops: [(Float, Float, Float)] = [
        (0.001, 0.000, 0.014),
        (0.113, 0.065, 0.277),
        (0.316, 0.071, 0.485),
        (0.513, 0.148, 0.508),
        (0.716, 0.215, 0.475),
        (0.904, 0.319, 0.388),
        (0.987, 0.536, 0.382),
        (0.996, 0.762, 0.536),
        (0.987, 0.991, 0.750),
    ]

    /// Colour for a level in [0, 1].
    public static func magma(_ level: Float) -> (UInt8, UInt8, UInt8) {
        let stops = magmaStops
        let x = min(max(level, 0), 1) * Float(stops.count - 1)
        let i = min(Int(x), stops.count - 2)
        let u = x - Float(i)
        let a = stops[i], b = stops[i + 1]
        func byte(_ p: Float, _ q: Float) -> UInt8 { UInt8(min(max((p + (q - p) * u) * 255 + 0.5, 0), 255)) }
        return (byte(a.0, b.0), byte(a.1, b.1), byte(a.2, b.2))
    }
}
