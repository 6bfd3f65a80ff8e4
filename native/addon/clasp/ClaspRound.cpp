#include "ClaspRound.h"

#include <chrono>
#include <random>

#include "llama-ext.h"

namespace clasp {

using clock_type = std::chrono::steady_clock;

static double ms_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

static engine_error check_params(const model_info & info, const round_params & params) {
    if (params.start_pos < 0) return {0, "startPos must be >= 0"};
    if (params.pending < 0 || params.pending >= info.n_vocab) return {0, "pending token id out of range"};
    for (llama_token t : params.proposal) {
        if (t < 0 || t >= info.n_vocab) return {0, "proposal token id out of range"};
    }
    if (params.run_dp && (params.n_skip < 0 || params.n_skip >= info.n_layer)) return {0, "numSkip must be in [0, n_layer)"};
    return {};
}

// Decodes [pending, ...draft] at start_pos.. in the real sequence, every row an output.
static engine_error verify_decode(llama_context * ctx, llama_seq_id seq_id, const round_params & params, const std::vector<llama_token> & draft) {
    const int32_t n = 1 + (int32_t) draft.size();
    llama_batch batch = llama_batch_init(n, 0, 1);
    for (int32_t k = 0; k < n; ++k) {
        batch.token[k]     = k == 0 ? params.pending : draft[k - 1];
        batch.pos[k]       = params.start_pos + k;
        batch.n_seq_id[k]  = 1;
        batch.seq_id[k][0] = seq_id;
        batch.logits[k]    = 1;
    }
    batch.n_tokens = n;
    const int status = llama_decode(ctx, batch);
    llama_batch_free(batch);
    if (status == 0) return {};
    // nothing of a failed verify may stay in the real sequence
    llama_memory_seq_rm(llama_get_memory(ctx), seq_id, params.start_pos, -1);
    if (status == 1) return {status, "no KV cache slot for the verify batch (the context is too full)"};
    return {status, "llama_decode failed in a CLaSp verify (status " + std::to_string(status) + ")"};
}

static verdict accept_greedy(llama_context * ctx, const std::vector<llama_token> & draft, int32_t n_vocab) {
    verdict v;
    for (;;) {
        const llama_token model_token = argmax(llama_get_logits_ith(ctx, v.accepted), n_vocab);
        if (v.accepted == (int32_t) draft.size() || draft[v.accepted] != model_token) {
            v.next = model_token;
            return v;
        }
        ++v.accepted;
    }
}

engine_error round(llama_context * ctx, llama_seq_id seq_id, const round_params & params, round_result & result) {
    const llama_model * model = llama_get_model(ctx);
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const model_info info = get_model_info(model);
    engine_error err = check_params(info, params);
    if (!err.ok()) return err;
    const bool sampling = params.sampling.temperature > 0.0f;

    // 1. the draft, and the distribution each of its tokens was drawn from
    draft_result drafted;
    std::vector<draft_distribution> q;
    if (params.draft_max > 0) {
        const auto start = clock_type::now();
        set_threads(ctx, params.threads.single, 0);
        draft_params dp;
        dp.pending            = {params.pending};
        dp.start_pos          = params.start_pos;
        dp.mask               = params.draft_mask;
        dp.max_tokens         = params.draft_max;
        dp.min_confidence     = params.min_confidence;
        dp.temperature        = params.sampling.temperature;
        dp.seed               = params.sampling.seed;
        dp.want_probabilities = sampling;
        err = draft(ctx, seq_id, dp, drafted);
        if (!err.ok()) return err;
        result.draft = drafted.tokens;
        for (size_t i = 0; sampling && i < drafted.tokens.size(); ++i)
            q.push_back(draft_distribution::dense(drafted.probabilities.data() + i * info.n_vocab, info.n_vocab, params.min_confidence));
        result.draft_ms = ms_since(start);
    } else {
        result.draft = params.proposal;
        q.assign(result.draft.size(), draft_distribution{}); // point masses
    }

    // 2. verify with the full model, capturing x_0..x_L when a DP follows
    const auto verify_start = clock_type::now();
    if (!llama_set_layer_skip(ctx, nullptr, 0)) return {0, "the skip mask could not be cleared for the verify"};
    set_capture(ctx, params.run_dp);
    set_threads(ctx, params.threads.single, params.threads.batch);
    err = verify_decode(ctx, seq_id, params, result.draft);
    if (!err.ok()) return err;

    // 3. accept
    verdict v;
    if (sampling) {
        target_distribution target(vocab, params.sampling);
        std::vector<sparse_distribution> targets(result.draft.size() + 1);
        for (size_t i = 0; i < targets.size(); ++i) target.of(llama_get_logits_ith(ctx, (int32_t) i), targets[i]);
        std::mt19937_64 rng(params.sampling.seed ^ 0x9E3779B97F4A7C15ull); // the draft used the seed itself
        v = accept_sampled(result.draft, q, targets, rng);
    } else {
        v = accept_greedy(ctx, result.draft, info.n_vocab);
    }
    result.accepted = v.accepted;
    result.next     = v.next;

    // 4. the DP target's row, read before anything else decodes; then the rejected cells go
    const int32_t dp_row = params.dp_at_pending ? 0 : v.accepted;
    std::vector<float> hidden;
    if (params.run_dp) {
        hidden.resize((size_t) (info.n_layer + 1) * info.n_embd);
        if (!read_hidden_row(ctx, dp_row, hidden.data())) {
            llama_memory_seq_rm(llama_get_memory(ctx), seq_id, params.start_pos, -1);
            return {0, "the verify did not capture the hidden states"};
        }
    }
    llama_memory_seq_rm(llama_get_memory(ctx), seq_id, params.start_pos + 1 + v.accepted, -1);
    result.verify_ms = ms_since(verify_start);

    // 5. the DP; its candidates attend to the prefix before the target token
    if (params.run_dp) {
        const auto start = clock_type::now();
        set_threads(ctx, params.threads.dp, params.threads.dp);
        err = optimize(ctx, seq_id, params.start_pos + dp_row, hidden.data(), params.n_skip, result.dp);
        if (!err.ok()) {
            // a failed round commits nothing: JS still believes the sequence ends at start_pos
            llama_memory_seq_rm(llama_get_memory(ctx), seq_id, params.start_pos, -1);
            return err;
        }
        result.dp_ran = true;
        result.dp_ms  = ms_since(start);
    }
    return {};
}

} // namespace clasp
