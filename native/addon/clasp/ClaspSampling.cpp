#include "ClaspSampling.h"

#include <algorithm>
#include <cmath>

namespace clasp {

target_distribution::target_distribution(const llama_vocab * vocab, const sampling_params & params)
    : chain(llama_sampler_chain_init(llama_sampler_chain_default_params())), n_vocab(llama_vocab_n_tokens(vocab)) {
    // the same samplers, with the same arguments and order, as node-llama-cpp's AddonSampler
    const int32_t top_k = params.top_k <= 0 ? n_vocab : std::min(params.top_k, n_vocab);
    llama_sampler_chain_add(chain, llama_sampler_init_top_k(top_k));
    if (params.top_p >= 0.0f && params.top_p <= 1.0f) llama_sampler_chain_add(chain, llama_sampler_init_top_p(params.top_p, 1));
    if (params.min_p > 0.0f) llama_sampler_chain_add(chain, llama_sampler_init_min_p(params.min_p, 1));
    llama_sampler_chain_add(chain, llama_sampler_init_temp(params.temperature));
    candidates.resize(n_vocab);
}

target_distribution::~target_distribution() {
    llama_sampler_free(chain);
}

void target_distribution::of(const float * logits, sparse_distribution & out) {
    for (llama_token id = 0; id < n_vocab; ++id) candidates[id] = llama_token_data{id, logits[id], 0.0f};
    llama_token_data_array cur{candidates.data(), (size_t) n_vocab, -1, false};
    llama_sampler_apply(chain, &cur);
    if (!cur.sorted) {
        std::sort(cur.data, cur.data + cur.size, [](const llama_token_data & a, const llama_token_data & b) { return a.logit > b.logit; });
    }
    // the probabilities node-llama-cpp reports for these candidates (softmax of the tempered logits, in float)
    out.ids.resize(cur.size);
    out.p.resize(cur.size);
    const float max_logit = cur.size > 0 ? cur.data[0].logit : 0.0f;
    float sum = 0.0f;
    for (size_t i = 0; i < cur.size; ++i) {
        out.ids[i] = cur.data[i].id;
        out.p[i]   = std::exp(cur.data[i].logit - max_logit);
        sum += out.p[i];
    }
    for (float & p : out.p) p /= sum;
}

llama_token argmax(const float * logits, int32_t n_vocab) {
    llama_token best = 0;
    for (llama_token id = 1; id < n_vocab; ++id) {
        if (logits[id] > logits[best]) best = id;
    }
    return best;
}

draft_distribution draft_distribution::dense(const float * q, int32_t n_vocab, float min_confidence) {
    draft_distribution d;
    d.q = q;
    d.min_confidence = min_confidence;
    d.kept = 0.0;
    for (int32_t i = 0; i < n_vocab; ++i) {
        if (q[i] >= min_confidence) d.kept += q[i];
    }
    return d;
}

double draft_distribution::of(llama_token token, llama_token drafted) const {
    if (q == nullptr) return token == drafted ? 1.0 : 0.0;
    const float value = q[token];
    return value >= min_confidence && kept > 0.0 ? value / kept : 0.0;
}

static double uniform(std::mt19937_64 & rng) {
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// draws from weights that need not be normalized; zero weights are never drawn
static llama_token sample(const std::vector<llama_token> & ids, const std::vector<double> & weights, std::mt19937_64 & rng) {
    double total = 0.0;
    for (double w : weights) total += w;
    double threshold = uniform(rng) * total;
    llama_token last = ids.empty() ? -1 : ids[0];
    for (size_t i = 0; i < ids.size(); ++i) {
        if (weights[i] <= 0.0) continue;
        last = ids[i];
        threshold -= weights[i];
        if (threshold < 0.0) return ids[i];
    }
    return last; // rounding left a sliver past the end
}

static llama_token sample(const sparse_distribution & p, std::mt19937_64 & rng) {
    return sample(p.ids, std::vector<double>(p.p.begin(), p.p.end()), rng);
}

verdict accept_sampled(const std::vector<llama_token> & draft, const std::vector<draft_distribution> & q,
                       const std::vector<sparse_distribution> & targets, std::mt19937_64 & rng) {
    for (size_t i = 0; i < draft.size(); ++i) {
        const sparse_distribution & p = targets[i];
        const llama_token d = draft[i];
        double p_d = 0.0;
        for (size_t k = 0; k < p.ids.size(); ++k) {
            if (p.ids[k] == d) p_d = p.p[k];
        }
        const double q_d = q[i].of(d, d);
        if (q_d > 0.0 && uniform(rng) < std::min(1.0, p_d / q_d)) continue;
        // rejected: draw from norm(max(0, p - q)), or from p itself when rounding left nothing
        std::vector<double> residual(p.ids.size());
        bool any = false;
        for (size_t k = 0; k < p.ids.size(); ++k) {
            residual[k] = std::max(0.0, (double) p.p[k] - q[i].of(p.ids[k], d));
            any = any || residual[k] > 0.0;
        }
        return {(int32_t) i, any ? sample(p.ids, residual, rng) : sample(p, rng)};
    }
    return {(int32_t) draft.size(), sample(targets[draft.size()], rng)};
}

} // namespace clasp
