// klauspost/reedsolomon's default code (KCP.md §3) on Intel ISA-L's GF(2^8) arithmetic. ISA-L
// has its own Reed-Solomon matrices (gf_gen_rs_matrix, gf_gen_cauchy1_matrix), neither of which
// is klauspost's, so the matrix is built here and only the field operations come from ISA-L.

#include "smux/kcp/fec_codec.hpp"

#include <isa-l/erasure_code.h>

#include <algorithm>
#include <stdexcept>

namespace smux::kcp {

namespace {

/// ISA-L's tables take 32 bytes per matrix entry.
constexpr std::size_t table_bytes_per_entry = 32;

/** klauspost's buildMatrix: the Vandermonde matrix V[r][c] = r^c (0^0 = 1) times the inverse
    of its top d×d square. The top becomes I; row r below it is the unique x with
    x·V_top = (r^0 .. r^(d-1)), which is Lagrange interpolation at the points 0..d-1:
    x[c] = Π_{k≠c} (r-k)/(c-k) (minus is XOR here). O(d² + p·d) instead of inverting V_top in
    O(d³), which for 255/1 is ~90 ms: too much for a retune a peer can trigger. */
std::vector<std::uint8_t> build_matrix(std::size_t rows, std::size_t d) {
    std::vector<std::uint8_t> m(rows * d);
    std::vector<unsigned char> denominator(d, 1);  // Π_{k≠c} (c-k)
    for (std::size_t c = 0; c < d; ++c) {
        m[c * d + c] = 1;
        for (std::size_t k = 0; k < d; ++k) {
            if (k != c) {
                denominator[c] = gf_mul(denominator[c], static_cast<unsigned char>(c ^ k));
            }
        }
    }
    for (std::size_t r = d; r < rows; ++r) {
        unsigned char numerator = 1;  // Π_k (r-k), never 0 since r ≥ d
        for (std::size_t k = 0; k < d; ++k) {
            numerator = gf_mul(numerator, static_cast<unsigned char>(r ^ k));
        }
        for (std::size_t c = 0; c < d; ++c) {
            auto const below = gf_mul(static_cast<unsigned char>(r ^ c), denominator[c]);
            m[r * d + c] = gf_mul(numerator, gf_inv(below));
        }
    }
    return m;
}

unsigned char* as_uchar(std::byte const* p) noexcept {
    // ISA-L takes non-const pointers for its inputs too; it only reads them.
    return reinterpret_cast<unsigned char*>(const_cast<std::byte*>(p));
}

}  // namespace

bool reed_solomon::valid(std::size_t data, std::size_t parity) noexcept {
    return data >= 1 && parity >= 1 && data + parity <= fec_max_total_shards;
}

std::optional<reed_solomon> reed_solomon::create(std::size_t data, std::size_t parity) {
    if (!valid(data, parity)) {
        return std::nullopt;
    }
    return reed_solomon(data, parity);
}

reed_solomon::reed_solomon(std::size_t data, std::size_t parity)
    : data_(data),
      parity_(parity),
      matrix_(build_matrix(data + parity, data)),
      parity_tables_(table_bytes_per_entry * data * parity),
      inputs_(data),
      outputs_(parity),
      input_rows_(data) {
    lost_.reserve(data);
    ec_init_tables(static_cast<int>(data), static_cast<int>(parity), matrix_.data() + data * data,
                   parity_tables_.data());
}

void reed_solomon::encode(std::span<std::byte const* const> data,
                          std::span<std::byte* const> parity, std::size_t length) {
    if (data.size() != data_ || parity.size() != parity_ || length > mtu_limit) {
        throw std::invalid_argument("smux::kcp::reed_solomon::encode: wrong shard count or size");
    }
    std::transform(data.begin(), data.end(), inputs_.begin(), as_uchar);
    std::transform(parity.begin(), parity.end(), outputs_.begin(), as_uchar);
    ec_encode_data(static_cast<int>(length), static_cast<int>(data_), static_cast<int>(parity_),
                   parity_tables_.data(), inputs_.data(), outputs_.data());
}

bool reed_solomon::reconstruct_data(std::span<std::byte const* const> shards,
                                    std::span<std::byte* const> rebuilt, std::size_t length) {
    if (shards.size() != data_ + parity_ || rebuilt.size() != data_ || length > mtu_limit) {
        throw std::invalid_argument("smux::kcp::reed_solomon: wrong shard count or size");
    }
    // As klauspost: the inputs are the first d present shards in row order, that is every
    // present data shard, then as many parity shards as data shards are missing.
    lost_.clear();
    std::size_t used = 0;
    for (std::size_t row = 0; row < shards.size() && used < data_; ++row) {
        if (shards[row] != nullptr) {
            input_rows_[used] = row;
            inputs_[used++] = as_uchar(shards[row]);
        } else if (row < data_) {
            lost_.push_back(row);
        }
    }
    if (used < data_) {
        return false;
    }
    return lost_.empty() || decode_missing(rebuilt, length);
}

bool reed_solomon::decode_missing(std::span<std::byte* const> rebuilt, std::size_t length) {
    // With P the parity inputs, S the present and L the missing data shards:
    // M[P][L]·d_L = p_P - M[P][S]·d_S, so d_L = A⁻¹·p_P + (A⁻¹·M[P][S])·d_S for A = M[P][L]
    // (minus is XOR). Inverting the m×m A, m ≤ p, is what klauspost's d×d inverse amounts to.
    std::size_t const m = lost_.size();
    std::size_t const first_parity = data_ - m;
    square_.resize(m * m);
    inverse_.resize(m * m);
    for (std::size_t r = 0; r < m; ++r) {
        for (std::size_t c = 0; c < m; ++c) {
            square_[r * m + c] = coefficient(input_rows_[first_parity + r], lost_[c]);
        }
    }
    if (gf_invert_matrix(square_.data(), inverse_.data(), static_cast<int>(m)) != 0) {
        return false;  // any m columns of m parity rows are independent (MDS): not expected
    }
    decode_rows_.resize(m * data_);
    for (std::size_t r = 0; r < m; ++r) {  // output r rebuilds data shard lost_[r]
        unsigned char* const row = decode_rows_.data() + r * data_;
        for (std::size_t k = 0; k < first_parity; ++k) {
            unsigned char sum = 0;
            for (std::size_t j = 0; j < m; ++j) {
                sum ^= gf_mul(inverse_[r * m + j],
                              coefficient(input_rows_[first_parity + j], input_rows_[k]));
            }
            row[k] = sum;
        }
        std::copy_n(inverse_.begin() + static_cast<std::ptrdiff_t>(r * m), m, row + first_parity);
        outputs_[r] = as_uchar(rebuilt[lost_[r]]);
    }
    decode_tables_.resize(table_bytes_per_entry * m * data_);
    ec_init_tables(static_cast<int>(data_), static_cast<int>(m), decode_rows_.data(),
                   decode_tables_.data());
    ec_encode_data(static_cast<int>(length), static_cast<int>(data_), static_cast<int>(m),
                   decode_tables_.data(), inputs_.data(), outputs_.data());
    return true;
}

}  // namespace smux::kcp
