#include "ClaspEngine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "llama-ext.h"

namespace clasp {

// Temporary ids are taken from the top of the unified cache's id space, far above node-llama-cpp's ids.
static constexpr llama_seq_id first_free_seq_id = 255;

static const llama_model * ctx_model(const llama_context * ctx) {
    return llama_get_model(ctx);
}

model_info get_model_info(const llama_model * model) {
    model_info info;
    info.supported = llama_model_supports_layer_skip(model);
    info.n_layer   = llama_model_n_layer(model);
    info.n_embd    = llama_model_n_embd(model);
    info.n_vocab   = llama_vocab_n_tokens(llama_model_get_vocab(model));
    return info;
}

void set_capture(llama_context * ctx, bool on) {
    const int32_t n_layer = llama_model_n_layer(ctx_model(ctx));
    for (int32_t lid = 0; lid <= n_layer; ++lid) {
        llama_set_embeddings_layer_inp(ctx, (uint32_t) lid, on);
    }
}

// only lid is captured by the next decodes
static void set_capture_only(llama_context * ctx, int32_t lid) {
    const int32_t n_layer = llama_model_n_layer(ctx_model(ctx));
    for (int32_t l = 0; l <= n_layer; ++l) {
        llama_set_embeddings_layer_inp(ctx, (uint32_t) l, l == lid);
    }
}

bool read_hidden(llama_context * ctx, const llama_batch & last_batch, llama_seq_id seq_id, llama_pos pos, float * out) {
    for (int32_t i = 0; i < last_batch.n_tokens; ++i) {
        if (last_batch.pos[i] == pos && last_batch.n_seq_id[i] > 0 && last_batch.seq_id[i][0] == seq_id) {
            return read_hidden_row(ctx, i, out);
        }
    }
    return false;
}

bool read_hidden_row(llama_context * ctx, int32_t row, float * out) {
    const model_info info = get_model_info(ctx_model(ctx));
    if (row < 0) {
        return false;
    }

    // the capture buffers are dense over the rows of the last batch, in batch order (one ubatch,
    // simple split: node-llama-cpp sets n_ubatch = n_batch and a unified cache never reorders)
    for (int32_t lid = 0; lid <= info.n_layer; ++lid) {
        const float * layer = llama_get_embeddings_layer_inp(ctx, (uint32_t) lid);
        if (layer == nullptr) {
            return false;
        }
        std::memcpy(out + (size_t) lid * info.n_embd, layer + (size_t) row * info.n_embd, sizeof(float) * info.n_embd);
    }
    return true;
}

ctx_state_guard::ctx_state_guard(llama_context * ctx, bool capture_after)
    : ctx(ctx), capture_after(capture_after), saved_threads(llama_n_threads(ctx)), saved_threads_batch(llama_n_threads_batch(ctx)) {
    const int32_t n_layer = llama_get_layer_skip(ctx, nullptr, 0);
    saved_mask.assign(n_layer, 0);
    llama_get_layer_skip(ctx, saved_mask.data(), n_layer);
}

ctx_state_guard::~ctx_state_guard() {
    const bool any = std::any_of(saved_mask.begin(), saved_mask.end(), [](uint8_t v) { return v != 0; });
    llama_set_layer_skip(ctx, any ? saved_mask.data() : nullptr, any ? (int32_t) saved_mask.size() : 0);
    llama_set_embd_hidden(ctx, false);
    set_capture(ctx, capture_after);
    llama_set_n_threads(ctx, saved_threads, saved_threads_batch);
}

void set_threads(llama_context * ctx, int32_t single, int32_t batch) {
    const int32_t s = single > 0 ? single : llama_n_threads(ctx);
    const int32_t b = batch > 0 ? batch : llama_n_threads_batch(ctx);
    if (s != llama_n_threads(ctx) || b != llama_n_threads_batch(ctx)) {
        llama_set_n_threads(ctx, s, b);
    }
}

tmp_seqs::tmp_seqs(llama_context * ctx, llama_seq_id src, llama_pos pos) : ctx(ctx), src(src), pos(pos) {}

tmp_seqs::~tmp_seqs() {
    llama_memory_t mem = llama_get_memory(ctx);
    for (llama_seq_id id : seq_ids) {
        llama_memory_seq_rm(mem, id, -1, -1);
    }
}

engine_error tmp_seqs::begin(int32_t n) {
    if (n < 1) {
        return {0, "at least one temporary sequence is needed"};
    }
    llama_memory_t mem = llama_get_memory(ctx);
    for (int32_t k = 0; k < n; ++k) {
        const llama_seq_id id = first_free_seq_id - k;
        if (id <= src || id < 1) {
            return {0, "no free temporary sequence id above the source sequence"};
        }
        llama_memory_seq_rm(mem, id, -1, -1);
        if (pos > 0) {
            // within one stream this only tags the prefix cells with the new id: no K/V copy
            llama_memory_seq_cp(mem, src, id, 0, pos);
        }
        seq_ids.push_back(id);
    }
    return {};
}

void tmp_seqs::clear_tail() {
    llama_memory_t mem = llama_get_memory(ctx);
    for (llama_seq_id id : seq_ids) {
        llama_memory_seq_rm(mem, id, pos, -1);
    }
}

static engine_error decode_error(int status) {
    if (status == 1) {
        return {status, "no KV cache slot for the CLaSp batch (the context is too full)"};
    }
    return {status, "llama_decode failed in a CLaSp call (status " + std::to_string(status) + ")"};
}

engine_error eval_layer(llama_context * ctx, tmp_seqs & seqs, int32_t il, const float * x_in, int32_t n, float * out) {
    const model_info info = get_model_info(ctx_model(ctx));
    if (il < 0 || il >= info.n_layer) {
        return {0, "layer index out of range"};
    }
    if (n < 1 || n > (int32_t) seqs.ids().size()) {
        return {0, "candidate count does not match the temporary sequences"};
    }

    std::vector<uint8_t> only_il(info.n_layer, 1);
    only_il[il] = 0;
    if (!llama_set_layer_skip(ctx, only_il.data(), info.n_layer)) {
        return {0, "llama_set_layer_skip refused the single-layer mask"};
    }
    llama_set_embd_hidden(ctx, true);
    set_capture_only(ctx, il + 1);

    llama_batch batch = llama_batch_init(n, info.n_embd, 1);
    for (int32_t k = 0; k < n; ++k) {
        std::memcpy(batch.embd + (size_t) k * info.n_embd, x_in + (size_t) k * info.n_embd, sizeof(float) * info.n_embd);
        batch.pos[k]       = seqs.position();
        batch.n_seq_id[k]  = 1;
        batch.seq_id[k][0] = seqs.ids()[k];
        batch.logits[k]    = 0; // no outputs: the head runs on 0 rows
    }
    batch.n_tokens = n;

    const int status = llama_decode(ctx, batch);
    llama_batch_free(batch);

    engine_error err;
    if (status != 0) {
        err = decode_error(status);
    } else {
        llama_synchronize(ctx);
        const float * x_next = llama_get_embeddings_layer_inp(ctx, (uint32_t) (il + 1));
        if (x_next == nullptr) {
            err = {0, "the layer output was not captured"};
        } else {
            std::memcpy(out, x_next, sizeof(float) * (size_t) n * info.n_embd);
        }
    }
    seqs.clear_tail();
    return err;
}

// fp32 result; accumulated in double so that long vectors do not lose the small differences the DP compares
static float cosine(const float * a, const float * b, int32_t n) {
    double dot = 0.0, na = 0.0, nb = 0.0;
    for (int32_t i = 0; i < n; ++i) {
        dot += (double) a[i] * b[i];
        na  += (double) a[i] * a[i];
        nb  += (double) b[i] * b[i];
    }
    const double denom = std::sqrt(na) * std::sqrt(nb);
    return denom > 0.0 ? (float) (dot / denom) : 0.0f;
}

engine_error optimize(llama_context * ctx, llama_seq_id seq_id, llama_pos pos, const float * hidden, int32_t n_skip,
                      optimize_result & result, bool trace) {
    const model_info info = get_model_info(ctx_model(ctx));
    const int32_t L = info.n_layer;
    const int32_t M = n_skip;
    const size_t  E = (size_t) info.n_embd;

    if (!info.supported) {
        return {0, "this model architecture does not support layer skipping"};
    }
    if (M < 0 || M >= L) {
        return {0, "numSkip must be in [0, n_layer)"};
    }
    if (pos < 0) {
        return {0, "position must be >= 0"};
    }

    const float * h = hidden; // h + i*E = x_i
    // prev[j] = g[i-1][j], cur[j] = g[i][j], j = 0..M
    std::vector<float> prev((size_t) (M + 1) * E, 0.0f), cur((size_t) (M + 1) * E, 0.0f);
    // parent_skip[i][j]: g[i][j] came from g[i-1][j-1] (layer i-1 skipped)
    std::vector<uint8_t> parent_skip((size_t) (L + 1) * (M + 1), 0);
    std::memcpy(prev.data(), h, sizeof(float) * E);
    if (trace) {
        result.similarity.assign((size_t) (L + 1) * (M + 1), NAN);
        for (int32_t i = 0; i <= L; ++i) result.similarity[(size_t) i * (M + 1)] = 1.0f; // g[i][0] = x_i
    }
    auto record = [&](int32_t i, int32_t j, float similarity) {
        if (trace) result.similarity[(size_t) i * (M + 1) + j] = similarity;
    };

    tmp_seqs seqs(ctx, seq_id, pos);
    if (M > 0) {
        engine_error err = seqs.begin(M);
        if (!err.ok()) {
            return err;
        }
    }

    std::vector<float> run((size_t) std::max(M, 1) * E);
    for (int32_t i = 1; i <= L; ++i) {
        const float * h_i = h + (size_t) i * E;
        std::memcpy(cur.data(), h_i, sizeof(float) * E); // g[i][0] = x_i: exact, nothing to compute

        const int32_t ell = std::min(i - 1, M);
        // g[i][j] leads to g[L][M] only if the L-i layers left can skip the M-j still missing; the
        // backtrack never visits the others, so they are not computed. The mask is the same, and with
        // M near L/2 that is about a third fewer layer evaluations (each costs a token's worth of one
        // layer on the CPU, where a batch of rows is no cheaper per row).
        const int32_t lo = std::max(1, M - (L - i));
        if (ell >= lo) {
            // RUN[j] = f_{i-1}(g[i-1][j]) for j = lo..ell, all in one single-layer decode
            engine_error err = eval_layer(ctx, seqs, i - 1, prev.data() + (size_t) lo * E, ell - lo + 1, run.data());
            if (!err.ok()) {
                return err;
            }
            for (int32_t j = lo; j <= ell; ++j) {
                const float * run_j  = run.data() + (size_t) (j - lo) * E;
                const float * skip_j = prev.data() + (size_t) (j - 1) * E;
                const float run_similarity  = cosine(run_j, h_i, (int32_t) E);
                const float skip_similarity = cosine(skip_j, h_i, (int32_t) E);
                // strict '>': ties go to skipping, as in the paper
                const bool take_run = run_similarity > skip_similarity;
                std::memcpy(cur.data() + (size_t) j * E, take_run ? run_j : skip_j, sizeof(float) * E);
                parent_skip[(size_t) i * (M + 1) + j] = take_run ? 0 : 1;
                record(i, j, take_run ? run_similarity : skip_similarity);
            }
        }
        if (i <= M) {
            // the first i layers all skipped
            std::memcpy(cur.data() + (size_t) i * E, prev.data() + (size_t) (i - 1) * E, sizeof(float) * E);
            parent_skip[(size_t) i * (M + 1) + i] = 1;
            if (trace) record(i, i, cosine(cur.data() + (size_t) i * E, h_i, (int32_t) E));
        }
        std::swap(prev, cur);
    }

    result.mask.assign(L, 0);
    for (int32_t i = L, j = M; i > 0 && j > 0; --i) {
        if (parent_skip[(size_t) i * (M + 1) + j]) {
            result.mask[i - 1] = 1;
            --j;
        }
    }
    result.cosine = cosine(prev.data() + (size_t) M * E, h + (size_t) L * E, (int32_t) E);
    if (trace) result.skipped = parent_skip;
    return {};
}

// softmax of logits/temperature (temperature 0 means 1 for the probabilities, argmax for the choice)
static void softmax(const float * logits, int32_t n, float temperature, std::vector<float> & probs) {
    const float t = temperature > 0.0f ? temperature : 1.0f;
    probs.resize(n);
    float max_logit = logits[0];
    for (int32_t i = 1; i < n; ++i) max_logit = std::max(max_logit, logits[i]);
    double sum = 0.0;
    for (int32_t i = 0; i < n; ++i) {
        probs[i] = std::exp((logits[i] - max_logit) / t);
        sum += probs[i];
    }
    for (int32_t i = 0; i < n; ++i) probs[i] = (float) (probs[i] / sum);
}

static llama_token pick(const std::vector<float> & probs, float temperature, std::mt19937_64 & rng) {
    if (temperature <= 0.0f) {
        return (llama_token) (std::max_element(probs.begin(), probs.end()) - probs.begin());
    }
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    double acc = 0.0;
    for (size_t i = 0; i < probs.size(); ++i) {
        acc += probs[i];
        if (u < acc) return (llama_token) i;
    }
    return (llama_token) (probs.size() - 1);
}

engine_error draft(llama_context * ctx, llama_seq_id seq_id, const draft_params & params, draft_result & result) {
    const llama_model * model = ctx_model(ctx);
    const model_info info = get_model_info(model);
    const llama_vocab * vocab = llama_model_get_vocab(model);

    if (params.pending.empty()) {
        return {0, "draft needs at least one pending token"};
    }
    if (params.start_pos < 0) {
        return {0, "startPos must be >= 0"};
    }
    if (params.max_tokens < 1) {
        return {};
    }
    for (llama_token t : params.pending) {
        if (t < 0 || t >= info.n_vocab) return {0, "pending token id out of range"};
    }
    const bool any_skip = std::any_of(params.mask.begin(), params.mask.end(), [](uint8_t v) { return v != 0; });
    if (!llama_set_layer_skip(ctx, any_skip ? params.mask.data() : nullptr, any_skip ? (int32_t) params.mask.size() : 0)) {
        return {0, "the skip mask was refused (wrong length, unsupported architecture, or every layer skipped)"};
    }
    set_capture(ctx, false);

    tmp_seqs seqs(ctx, seq_id, params.start_pos);
    engine_error err = seqs.begin(1);
    if (!err.ok()) {
        return err;
    }
    const llama_seq_id tmp = seqs.ids()[0];

    std::mt19937_64 rng(params.seed);
    std::vector<float> probs;
    llama_batch batch = llama_batch_init((int32_t) std::max<size_t>(params.pending.size(), 1), 0, 1);
    llama_pos next_pos = params.start_pos;

    auto decode_tokens = [&](const llama_token * tokens, int32_t n) -> engine_error {
        for (int32_t k = 0; k < n; ++k) {
            batch.token[k]     = tokens[k];
            batch.pos[k]       = next_pos + k;
            batch.n_seq_id[k]  = 1;
            batch.seq_id[k][0] = tmp;
            batch.logits[k]    = k == n - 1;
        }
        batch.n_tokens = n;
        next_pos += n;
        const int status = llama_decode(ctx, batch);
        return status == 0 ? engine_error{} : decode_error(status);
    };

    err = decode_tokens(params.pending.data(), (int32_t) params.pending.size());
    while (err.ok()) {
        const float * logits = llama_get_logits_ith(ctx, -1);
        if (logits == nullptr) {
            err = {0, "no logits after a draft decode"};
            break;
        }
        softmax(logits, info.n_vocab, params.temperature, probs);
        const llama_token token = pick(probs, params.temperature, rng);
        const float confidence = probs[token];
        if (confidence < params.min_confidence) {
            break;
        }
        result.tokens.push_back(token);
        result.confidence.push_back(confidence);
        if (params.want_probabilities) {
            result.probabilities.insert(result.probabilities.end(), probs.begin(), probs.end());
        }
        if ((int32_t) result.tokens.size() >= params.max_tokens || llama_vocab_is_eog(vocab, token)) {
            break;
        }
        err = decode_tokens(&token, 1);
        if (err.code == 1) {
            // the cache is full: the tokens drafted so far are still valid predictions
            err = {};
            break;
        }
    }
    llama_batch_free(batch);
    return err;
}

} // namespace clasp
