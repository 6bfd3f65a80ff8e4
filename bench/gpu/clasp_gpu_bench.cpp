// Plain greedy decoding against CLaSp rounds on one model, on whatever backend llama.cpp was built
// for, without Node: the GPU machine has none. It drives the same native round the extension runs
// (native/addon/clasp/ClaspRound.cpp: layer-skip draft, full-model verify, greedy accept, KV
// rollback, DP on the last accepted token), with the decoder's default settings passed in by
// bench/gpu/run.sh. Prompts are the held-out code prompts bench/gpu/prepare.ts wrote (*.txt in
// --prompt-dir, the last --prompt-tokens tokens of each); every mode decodes each prompt in turn,
// so drift hits all alike, and every mode's tokens are compared with plain decoding's.
//
// The baseline is plain decoding on this same build (`speedupVsPatchedPlain`): without Node there is
// no node-llama-cpp stock binary to time. On CUDA the patch changes no kernel, so this is upstream
// llama.cpp's plain decoding at this version, built for this GPU; on the CPU the patch's
// batch-invariant kernels can be slower than stock, which the Node bench measures (stockPlain).
//
// usage: clasp_gpu_bench --model F.gguf --prompt-dir DIR --name NAME --json OUT.json [--gpu-layers N]
//        [--threads N] [--prompts N] [--prompt-tokens N] [--max-tokens N] [--gamma N]
//        [--min-confidence X] [--skip-ratio X] [--update-interval N]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "llama.h"
#include "llama-ext.h"
#include "clasp/ClaspEngine.h"
#include "clasp/ClaspRound.h"

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

[[noreturn]] void fail(const std::string & message) {
    std::fprintf(stderr, "clasp_gpu_bench: %s\n", message.c_str());
    std::exit(1);
}

struct options {
    std::string model, name, json, prompt_dir;
    int gpu_layers = 999, threads = 4, prompts = 8, prompt_tokens = 256, max_tokens = 64;
    int gamma = 8, update_interval = 32;
    float min_confidence = 0.7f, skip_ratio = 0.5f;
};

options parse(int argc, char ** argv) {
    options o;
    std::map<std::string, std::string> args;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strncmp(argv[i], "--", 2) != 0) fail(std::string("unexpected argument ") + argv[i]);
        args[argv[i] + 2] = argv[i + 1];
    }
    auto text = [&](const char * key, std::string & into) { if (args.count(key)) into = args[key]; };
    auto integer = [&](const char * key, int & into) { if (args.count(key)) into = std::atoi(args[key].c_str()); };
    auto real = [&](const char * key, float & into) { if (args.count(key)) into = std::strtof(args[key].c_str(), nullptr); };
    text("model", o.model); text("name", o.name); text("json", o.json); text("prompt-dir", o.prompt_dir);
    integer("gpu-layers", o.gpu_layers); integer("threads", o.threads); integer("prompts", o.prompts);
    integer("prompt-tokens", o.prompt_tokens); integer("max-tokens", o.max_tokens); integer("gamma", o.gamma);
    integer("update-interval", o.update_interval);
    real("min-confidence", o.min_confidence); real("skip-ratio", o.skip_ratio);
    if (o.model.empty() || o.json.empty() || o.prompt_dir.empty()) fail("--model, --prompt-dir and --json are required");
    if (o.name.empty()) o.name = o.model;
    return o;
}

// The prompt files in name order, each tokenized as the model's vocabulary does and cut to its last `keep` tokens.
std::vector<std::vector<llama_token>> load_prompts(const llama_vocab * vocab, const std::string & dir, int count, int keep) {
    std::vector<std::filesystem::path> files;
    for (const auto & entry : std::filesystem::directory_iterator(dir))
        if (entry.path().extension() == ".txt") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    if ((int) files.size() < count) fail("--prompt-dir has " + std::to_string(files.size()) + " prompts, " + std::to_string(count) + " asked for");
    std::vector<std::vector<llama_token>> prompts;
    for (int i = 0; i < count; ++i) {
        std::ifstream in(files[i], std::ios::binary);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::vector<llama_token> tokens(text.size() + 8);
        const int n = llama_tokenize(vocab, text.data(), (int32_t) text.size(), tokens.data(), (int32_t) tokens.size(), false, false);
        if (n < 2) fail("prompt " + files[i].string() + " tokenizes to fewer than 2 tokens");
        tokens.resize(n);
        if (n > keep) tokens.erase(tokens.begin(), tokens.end() - keep);
        prompts.push_back(std::move(tokens));
    }
    return prompts;
}

struct bench_context {
    llama_context * ctx;
    int32_t n_vocab;

    void clear() { llama_memory_clear(llama_get_memory(ctx), true); }

    // everything but the last token, which the decoders evaluate first (as in src/engine/decoding.ts)
    double prefill(const std::vector<llama_token> & prompt) {
        clear();
        const auto start = clock_type::now();
        const int32_t n = (int32_t) prompt.size() - 1;
        llama_batch batch = llama_batch_init(n, 0, 1);
        for (int32_t i = 0; i < n; ++i) {
            batch.token[i] = prompt[i];
            batch.pos[i] = i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = i == n - 1;
        }
        batch.n_tokens = n;
        if (llama_decode(ctx, batch) != 0) fail("prefill failed");
        llama_batch_free(batch);
        llama_synchronize(ctx);
        return ms_since(start);
    }

    llama_token step(llama_token token, llama_pos pos) {
        llama_batch batch = llama_batch_init(1, 0, 1);
        batch.token[0] = token;
        batch.pos[0] = pos;
        batch.n_seq_id[0] = 1;
        batch.seq_id[0][0] = 0;
        batch.logits[0] = 1;
        batch.n_tokens = 1;
        if (llama_decode(ctx, batch) != 0) fail("decode failed");
        llama_batch_free(batch);
        return clasp::argmax(llama_get_logits_ith(ctx, 0), n_vocab);
    }
};

struct run_result {
    std::vector<llama_token> tokens;
    double ms = 0;
    int rounds = 0, drafted = 0, accepted = 0, dp_runs = 0;
    double dp_ms = 0, verify_ms = 0, draft_ms = 0;
    std::vector<uint8_t> first_mask;
};

run_result plain(bench_context & b, const std::vector<llama_token> & prompt, int max_tokens) {
    run_result r;
    b.prefill(prompt);
    const auto start = clock_type::now();
    llama_token pending = prompt.back();
    llama_pos pos = (llama_pos) prompt.size() - 1;
    while ((int) r.tokens.size() < max_tokens) {
        pending = b.step(pending, pos++);
        r.tokens.push_back(pending);
    }
    r.ms = ms_since(start);
    return r;
}

// static_mask empty: CLaSp (a DP on the prompt's last token, then every update_interval rounds)
run_result speculative(bench_context & b, const options & o, const std::vector<llama_token> & prompt, int n_skip,
                       const std::vector<uint8_t> & static_mask) {
    run_result r;
    b.prefill(prompt);
    const auto start = clock_type::now();
    std::vector<uint8_t> mask = static_mask;
    llama_token pending = prompt.back();
    llama_pos pos = (llama_pos) prompt.size() - 1;
    int since_dp = 0;
    while ((int) r.tokens.size() < o.max_tokens) {
        clasp::round_params p;
        p.pending = pending;
        p.start_pos = pos;
        const bool first_dp = mask.empty();
        p.run_dp = static_mask.empty() && (first_dp || since_dp >= o.update_interval);
        p.dp_at_pending = first_dp;
        p.n_skip = n_skip;
        const int left = o.max_tokens - (int) r.tokens.size() - 1;
        if (!first_dp && left > 0) {
            p.draft_mask = mask;
            p.draft_max = std::min(o.gamma, left);
            p.min_confidence = o.min_confidence;
        }
        clasp::round_result out;
        const clasp::engine_error err = clasp::round(b.ctx, 0, p, out);
        if (!err.ok()) fail("round: " + err.message);
        r.rounds++;
        r.drafted += (int) out.draft.size();
        r.accepted += out.accepted;
        r.verify_ms += out.verify_ms;
        r.draft_ms += out.draft_ms;
        if (out.dp_ran) {
            mask = out.dp.mask;
            if (r.first_mask.empty()) r.first_mask = mask;
            r.dp_runs++;
            r.dp_ms += out.dp_ms;
            since_dp = 0;
        } else {
            since_dp++;
        }
        for (int i = 0; i < out.accepted && (int) r.tokens.size() < o.max_tokens; ++i) r.tokens.push_back(out.draft[i]);
        if ((int) r.tokens.size() < o.max_tokens) r.tokens.push_back(out.next);
        pos += 1 + out.accepted;
        pending = out.next;
    }
    r.ms = ms_since(start);
    llama_set_layer_skip(b.ctx, nullptr, 0);
    return r;
}

struct tally {
    int tokens = 0, rounds = 0, drafted = 0, accepted = 0, dp_runs = 0, diverged_prompts = 0;
    double ms = 0, dp_ms = 0, verify_ms = 0, draft_ms = 0;
    std::string first_divergence;

    void add(const run_result & r, const run_result & reference, int prompt) {
        tokens += (int) r.tokens.size();
        ms += r.ms;
        rounds += r.rounds;
        drafted += r.drafted;
        accepted += r.accepted;
        dp_runs += r.dp_runs;
        dp_ms += r.dp_ms;
        verify_ms += r.verify_ms;
        draft_ms += r.draft_ms;
        if (r.tokens != reference.tokens) {
            diverged_prompts++;
            if (first_divergence.empty()) {
                size_t at = 0;
                while (at < r.tokens.size() && r.tokens[at] == reference.tokens[at]) at++;
                first_divergence = "prompt " + std::to_string(prompt) + ", token " + std::to_string(at);
            }
        }
    }
};

std::string mode_json(const tally & t, double plain_rate) {
    std::ostringstream s;
    const double rate = t.tokens * 1000.0 / t.ms;
    s << "{\"tokensPerSecond\": " << rate << ", \"speedupVsPatchedPlain\": " << rate / plain_rate;
    if (t.rounds > 0) {
        s << ", \"acceptance\": " << (t.drafted ? (double) t.accepted / t.drafted : 0.0)
          << ", \"meanAccepted\": " << (double) (t.accepted + t.rounds) / t.rounds
          << ", \"rounds\": " << t.rounds << ", \"verifyMsPerRound\": " << t.verify_ms / t.rounds
          << ", \"draftMsPerToken\": " << (t.drafted ? t.draft_ms / t.drafted : 0.0)
          << ", \"dpRuns\": " << t.dp_runs << ", \"dpMsEach\": " << (t.dp_runs ? t.dp_ms / t.dp_runs : 0.0)
          << ", \"dpSharePct\": " << 100.0 * t.dp_ms / t.ms;
    }
    s << ", \"lossless\": " << (t.diverged_prompts == 0 ? "true" : "false") << ", \"divergedPrompts\": " << t.diverged_prompts;
    if (!t.first_divergence.empty()) s << ", \"firstDivergence\": \"" << t.first_divergence << "\"";
    s << "}";
    return s.str();
}

} // namespace

int main(int argc, char ** argv) {
    const options o = parse(argc, argv);
    llama_log_set([](ggml_log_level level, const char * text, void *) { if (level >= GGML_LOG_LEVEL_WARN) std::fputs(text, stderr); }, nullptr);
    llama_backend_init();
    ggml_backend_load_all();

    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = o.gpu_layers;
    const auto load_start = clock_type::now();
    llama_model * model = llama_model_load_from_file(o.model.c_str(), mp);
    if (model == nullptr) fail("could not load " + o.model);
    const double load_ms = ms_since(load_start);
    const clasp::model_info info = clasp::get_model_info(model);
    if (!info.supported) fail("the model's architecture has no layer skip in our patch");

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) (o.prompt_tokens + o.max_tokens + o.gamma + 64);
    cp.n_batch = cp.n_ubatch = 512;
    cp.n_seq_max = 1;
    cp.kv_unified = true; // the draft and the DP decode in temporary sequences sharing the prefix
    cp.n_threads = cp.n_threads_batch = o.threads;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (ctx == nullptr) fail("could not create a context");
    bench_context b{ctx, info.n_vocab};

    // skipCountFor in src/engine/clasp/controller.ts
    const int n_skip = std::min(info.n_layer - 1, std::max(1, (int) std::lround(o.skip_ratio * info.n_layer)));
    const auto prompts = load_prompts(llama_model_get_vocab(model), o.prompt_dir, o.prompts, o.prompt_tokens);

    // warm-up (kernels, graphs, allocations), not counted; CLaSp's first DP also fixes the static mask
    plain(b, prompts[0], o.max_tokens);
    const run_result chooser = speculative(b, o, prompts[0], n_skip, {});
    const std::vector<uint8_t> static_mask = chooser.first_mask;

    tally t_plain, t_static, t_clasp;
    double prefill_ms = 0;
    int prefill_tokens = 0;
    for (int i = 0; i < o.prompts; ++i) {
        prefill_ms += b.prefill(prompts[i]);
        prefill_tokens += (int) prompts[i].size() - 1;
        const run_result reference = plain(b, prompts[i], o.max_tokens);
        t_plain.add(reference, reference, i);
        t_static.add(speculative(b, o, prompts[i], n_skip, static_mask), reference, i);
        t_clasp.add(speculative(b, o, prompts[i], n_skip, {}), reference, i);
        std::fprintf(stderr, "  %s: prompt %d/%d\n", o.name.c_str(), i + 1, o.prompts);
    }
    const double plain_rate = t_plain.tokens * 1000.0 / t_plain.ms;

    std::string skipped;
    for (int il = 0; il < info.n_layer; ++il)
        if (!static_mask.empty() && static_mask[il]) skipped += (skipped.empty() ? "" : ", ") + std::to_string(il);

    std::ofstream json(o.json);
    json << "{\"name\": \"" << o.name << "\", \"layers\": " << info.n_layer << ", \"embd\": " << info.n_embd
         << ", \"vocab\": " << info.n_vocab << ", \"gpuLayers\": " << o.gpu_layers << ", \"threads\": " << o.threads
         << ", \"prompts\": " << o.prompts << ", \"promptTokens\": " << o.prompt_tokens << ", \"maxTokens\": " << o.max_tokens
         << ", \"gamma\": " << o.gamma << ", \"minConfidence\": " << o.min_confidence << ", \"skipRatio\": " << o.skip_ratio
         << ", \"skippedLayers\": " << n_skip << ", \"staticMask\": [" << skipped << "]"
         << ", \"loadMs\": " << load_ms << ", \"prefillMsPerToken\": " << prefill_ms / prefill_tokens
         << ", \"baseline\": \"plain decoding on this patched build (no stock binary without Node)\""
         << ", \"modes\": {\"plain\": {\"tokensPerSecond\": " << plain_rate << ", \"msPerToken\": " << 1000.0 / plain_rate << "}"
         << ", \"static\": " << mode_json(t_static, plain_rate) << ", \"clasp\": " << mode_json(t_clasp, plain_rate) << "}}\n";
    std::fprintf(stderr, "%s: plain %.1f tok/s; against it, static %.2fx, clasp %.2fx (alpha %.2f)\n", o.name.c_str(), plain_rate,
                 t_static.tokens * 1000.0 / t_static.ms / plain_rate, t_clasp.tokens * 1000.0 / t_clasp.ms / plain_rate,
                 t_clasp.drafted ? (double) t_clasp.accepted / t_clasp.drafted : 0.0);

    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
