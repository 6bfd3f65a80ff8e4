#pragma once

// CLaSp engine: layer-skip drafting, hidden-state capture and the sequence-parallel DP, on top of
// llama.h plus the CLaSp additions of our llama.cpp patch (src/llama-ext.h). No N-API here.
//
// Every function that decodes must run while nothing else decodes on the same llama_context
// (in node-llama-cpp: under the JS lock [context, "context"]). The real sequence is never written:
// decodes run in temporary sequences that share the real prefix's KV cells, which needs a unified
// KV cache (temporary ids above n_seq_max are only legal then).

#include <cstdint>
#include <string>
#include <vector>

#include "llama.h"

namespace clasp {

struct model_info {
    bool    supported = false;
    int32_t n_layer   = 0;
    int32_t n_embd    = 0;
    int32_t n_vocab   = 0;
};

model_info get_model_info(const llama_model * model);

// Turns capture of x_0..x_L on or off for the following decodes.
void set_capture(llama_context * ctx, bool on);

// Copies x_0..x_L ((n_layer+1)*n_embd floats) of the row (seq_id, pos) of `last_batch`, the batch of
// the last decode. False when that row is not in the batch or the last decode did not capture.
bool read_hidden(llama_context * ctx, const llama_batch & last_batch, llama_seq_id seq_id, llama_pos pos, float * out);

// The same for row `row` of the last decode's batch.
bool read_hidden_row(llama_context * ctx, int32_t row, float * out);

// Error carrying a message for JS; `code` is the llama_decode status when a decode failed.
struct engine_error {
    int         code = 0;
    std::string message;
    bool ok() const { return message.empty(); }
};

// Restores the skip mask, the capture flags, embd_hidden and the thread counts when a native CLaSp
// call ends, so that node-llama-cpp's own decodes always run the full, unmasked model with its threads.
class ctx_state_guard {
public:
    ctx_state_guard(llama_context * ctx, bool capture_after);
    ~ctx_state_guard();
    ctx_state_guard(const ctx_state_guard &) = delete;
    ctx_state_guard & operator=(const ctx_state_guard &) = delete;
private:
    llama_context *      ctx;
    bool                 capture_after;
    std::vector<uint8_t> saved_mask;
    int32_t              saved_threads;
    int32_t              saved_threads_batch;
};

// Sets the thread counts of single-token and batched decodes; 0 keeps a count as it is.
void set_threads(llama_context * ctx, int32_t single, int32_t batch);

// Temporary sequences sharing the prefix [0, pos) of `src`, taken from `first_free` downwards.
class tmp_seqs {
public:
    tmp_seqs(llama_context * ctx, llama_seq_id src, llama_pos pos);
    ~tmp_seqs();
    tmp_seqs(const tmp_seqs &) = delete;
    tmp_seqs & operator=(const tmp_seqs &) = delete;

    engine_error begin(int32_t n);
    // removes the cells at position >= pos from every temporary sequence
    void clear_tail();
    const std::vector<llama_seq_id> & ids() const { return seq_ids; }
    llama_pos position() const { return pos; }
private:
    llama_context *           ctx;
    llama_seq_id              src;
    llama_pos                 pos;
    std::vector<llama_seq_id> seq_ids;
};

// Layer `il` applied to n hidden states at position seqs.position(), candidate k in sequence ids()[k].
// out: n*n_embd floats. Leaves no cells behind.
engine_error eval_layer(llama_context * ctx, tmp_seqs & seqs, int32_t il, const float * x_in, int32_t n, float * out);

struct optimize_result {
    std::vector<uint8_t> mask;   // n_layer entries, exactly n_skip ones
    float                cosine = 0.0f; // cos(g[L][M], x_L)
    // with `trace`: for i = 0..L and j = 0..M (row-major, (L+1)*(M+1)), whether g[i][j] came from a skip
    // and its cosine D[i][j] to x_i (NaN where the cell does not exist, or cannot lead to g[L][M]:
    // 0 < j < M - (L - i), which the DP does not compute)
    std::vector<uint8_t> skipped;
    std::vector<float>   similarity;
};

// Algorithm 1 of CLaSp: hidden = x_0..x_L of the token at `pos` (already in the KV of seq_id).
engine_error optimize(llama_context * ctx, llama_seq_id seq_id, llama_pos pos, const float * hidden, int32_t n_skip,
                      optimize_result & result, bool trace = false);

struct draft_params {
    std::vector<llama_token> pending;          // tokens not yet in the KV cache, evaluated at start_pos...
    llama_pos                start_pos = 0;
    std::vector<uint8_t>     mask;             // empty: no layer skipped
    int32_t                  max_tokens = 0;
    float                    min_confidence = 0.0f;
    float                    temperature = 0.0f; // 0: greedy
    uint64_t                 seed = 0;
    bool                     want_probabilities = false;
};

struct draft_result {
    std::vector<llama_token> tokens;
    std::vector<float>       confidence;      // probability of each drafted token
    std::vector<float>       probabilities;   // tokens.size()*n_vocab, when asked
};

engine_error draft(llama_context * ctx, llama_seq_id seq_id, const draft_params & params, draft_result & result);

} // namespace clasp
