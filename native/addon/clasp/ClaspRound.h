#pragma once

// One speculative round in one call: draft (layer skip) or take a ready draft (prompt lookup),
// verify [pending, ...draft] with the full model in the real sequence, accept (greedy or speculative
// sampling), remove the rejected cells, and run the layer-selection DP on the last accepted token
// when asked. The real sequence then holds exactly the committed prefix plus pending and the
// accepted draft tokens, as if they had been decoded one by one.

#include <cstdint>
#include <vector>

#include "ClaspEngine.h"
#include "ClaspSampling.h"

namespace clasp {

// Thread counts per phase; 0 keeps the context's.
struct thread_plan {
    int32_t single = 0; // one-token decodes: the draft, a verify of the pending token alone
    int32_t batch  = 0; // verify batches
    int32_t dp     = 0; // the DP's single-layer candidate batches
};

struct round_params {
    llama_token              pending   = 0;
    llama_pos                start_pos = 0;   // the real sequence holds [0, start_pos)
    std::vector<llama_token> proposal;        // a ready draft, verified as is (used when draft_max == 0)
    std::vector<uint8_t>     draft_mask;      // with draft_max > 0: draft with these layers skipped
    int32_t                  draft_max = 0;
    float                    min_confidence = 0.0f;
    sampling_params          sampling;
    bool                     run_dp = false;  // capture during the verify, then the DP on the last accepted token
    bool                     dp_at_pending = false; // ... or on pending itself (a request's first DP: the prompt's last token)
    int32_t                  n_skip = 0;
    thread_plan              threads;
};

struct round_result {
    std::vector<llama_token> draft;          // what was verified after pending
    int32_t                  accepted = 0;   // draft tokens kept
    llama_token              next     = -1;  // the model's token after them (correction or bonus)
    bool                     dp_ran   = false;
    optimize_result          dp;
    double                   draft_ms = 0.0, verify_ms = 0.0, dp_ms = 0.0;
};

engine_error round(llama_context * ctx, llama_seq_id seq_id, const round_params & params, round_result & result);

} // namespace clasp
