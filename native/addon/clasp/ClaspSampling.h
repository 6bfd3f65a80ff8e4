#pragma once

// The verifier's side of a round: the model's choice after each verified row, greedy or by
// speculative sampling (Leviathan et al. 2023) against the distribution plain decoding samples from.

#include <cstdint>
#include <random>
#include <vector>

#include "llama.h"

namespace clasp {

// node-llama-cpp's sampler settings at T > 0 (its chain: top-k -> top-p -> min-p -> temperature -> dist),
// so that the distribution verified against is exactly the one its plain decoding draws from.
struct sampling_params {
    float    temperature = 0.0f; // 0: greedy (argmax of the logits, first index on ties, like llama_sampler_greedy)
    int32_t  top_k       = 0;    // <= 0: the whole vocabulary
    float    top_p       = 1.0f;
    float    min_p       = 0.0f;
    uint64_t seed        = 0;
};

// A distribution over the tokens the chain kept.
struct sparse_distribution {
    std::vector<llama_token> ids;
    std::vector<float>       p;
};

// Builds the chain once per round and applies it to each row's logits.
class target_distribution {
public:
    target_distribution(const llama_vocab * vocab, const sampling_params & params);
    ~target_distribution();
    target_distribution(const target_distribution &) = delete;
    target_distribution & operator=(const target_distribution &) = delete;

    void of(const float * logits, sparse_distribution & out);
private:
    llama_sampler *               chain;
    int32_t                       n_vocab;
    std::vector<llama_token_data> candidates;
};

llama_token argmax(const float * logits, int32_t n_vocab);

// How a drafted token was drawn: from a dense table (layer-skip draft; entries below `min_confidence`
// could never be drafted, so the rest is renormalized) or with certainty (prompt lookup).
struct draft_distribution {
    const float * q = nullptr; // n_vocab entries, or nullptr for a point mass on the drafted token
    float         min_confidence = 0.0f;
    double        kept = 1.0;  // mass of the entries >= min_confidence

    static draft_distribution dense(const float * q, int32_t n_vocab, float min_confidence);
    double of(llama_token token, llama_token drafted) const;
};

struct verdict {
    int32_t     accepted = 0;
    llama_token next     = -1;
};

// Speculative sampling over [pending, ...draft]: targets[i] is the model's distribution after row i
// (draft.size() + 1 of them), q[i] the one draft[i] was drawn from.
verdict accept_sampled(const std::vector<llama_token> & draft, const std::vector<draft_distribution> & q,
                       const std::vector<sparse_distribution> & targets, std::mt19937_64 & rng);

} // namespace clasp
