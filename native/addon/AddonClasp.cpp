#include "AddonClasp.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "AddonContext.h"
#include "AddonModel.h"
#include "ClaspVersion.h"
#include "clasp/ClaspEngine.h"
#include "clasp/ClaspRound.h"
#include "llama-ext.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// The llama_context has no getter for its capture flags, so the capture state JS asked for is kept
// here; native CLaSp calls restore it when they end (their own decodes never capture for JS).
static std::mutex captureMutex;
static std::unordered_map<const AddonContext*, bool> captureWanted;

static bool getCaptureWanted(const AddonContext* context) {
    std::lock_guard<std::mutex> lock(captureMutex);
    const auto it = captureWanted.find(context);
    return it != captureWanted.end() && it->second;
}

static void setCaptureWanted(const AddonContext* context, bool on) {
    std::lock_guard<std::mutex> lock(captureMutex);
    captureWanted[context] = on;
}

static Napi::Value throwError(const Napi::Env& env, const std::string& message) {
    Napi::Error::New(env, "CLaSp: " + message).ThrowAsJavaScriptException();
    return env.Undefined();
}

static Napi::Value throwTypeError(const Napi::Env& env, const std::string& message) {
    Napi::TypeError::New(env, "CLaSp: " + message).ThrowAsJavaScriptException();
    return env.Undefined();
}

// node-llama-cpp's native context (LlamaContext._ctx) in argument 0, loaded and not disposed
static AddonContext* contextArg(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsObject()) {
        throwTypeError(info.Env(), "the first argument must be node-llama-cpp's native context");
        return nullptr;
    }
    AddonContext* context = Napi::ObjectWrap<AddonContext>::Unwrap(info[0].As<Napi::Object>());
    if (context == nullptr || context->disposed || context->ctx == nullptr) {
        throwError(info.Env(), "the context is disposed or not loaded");
        return nullptr;
    }
    return context;
}

static bool intArg(const Napi::Value& value, int64_t min, int64_t max, int64_t& out) {
    if (!value.IsNumber()) return false;
    const double v = value.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(v) || std::floor(v) != v || v < (double) min || v > (double) max) return false;
    out = (int64_t) v;
    return true;
}

static clasp::model_info contextInfo(const AddonContext* context) {
    return clasp::get_model_info(llama_get_model(context->ctx));
}

// Decoding calls need a supported architecture and a unified KV cache (temporary sequence ids)
static bool ensureDecodable(const Napi::Env& env, const AddonContext* context) {
    if (!contextInfo(context).supported) {
        throwError(env, "this model architecture does not support layer skipping");
        return false;
    }
    if (!context->context_params.kv_unified) {
        throwError(env, "the context has a split KV cache (a build older than native/build.mjs's kv_unified edit): rebuild with npm run build:native");
        return false;
    }
    return true;
}

static bool seqIdArg(const Napi::CallbackInfo& info, size_t index, llama_seq_id& out) {
    int64_t v = 0;
    if (!intArg(info[index], 0, 200, v)) {
        throwTypeError(info.Env(), "sequence id must be an integer in [0, 200]");
        return false;
    }
    out = (llama_seq_id) v;
    return true;
}

static bool posArg(const Napi::CallbackInfo& info, const AddonContext* context, size_t index, const char* name, llama_pos& out) {
    int64_t v = 0;
    if (!intArg(info[index], 0, (int64_t) llama_n_ctx(context->ctx) - 1, v)) {
        throwTypeError(info.Env(), std::string(name) + " must be an integer position inside the context");
        return false;
    }
    out = (llama_pos) v;
    return true;
}

static bool maskFromValue(const Napi::Env& env, const Napi::Value& value, int32_t n_layer, std::vector<uint8_t>& out) {
    out.clear();
    if (value.IsNull() || value.IsUndefined()) return true;
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        throwTypeError(env, "mask must be a Uint8Array or null");
        return false;
    }
    Napi::Uint8Array mask = value.As<Napi::Uint8Array>();
    if ((int32_t) mask.ElementLength() != n_layer) {
        throwTypeError(env, "mask length must equal the layer count (" + std::to_string(n_layer) + ")");
        return false;
    }
    out.assign(mask.Data(), mask.Data() + n_layer);
    return true;
}

// A Float32Array argument whose length is a positive multiple of `row` (and at most max_rows rows)
static bool float32RowsArg(const Napi::CallbackInfo& info, size_t index, const char* name, size_t row, size_t max_rows, std::vector<float>& out) {
    const Napi::Value value = info[index];
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        throwTypeError(info.Env(), std::string(name) + " must be a Float32Array");
        return false;
    }
    Napi::Float32Array array = value.As<Napi::Float32Array>();
    const size_t rows = array.ElementLength() / row;
    if (rows < 1 || rows > max_rows || rows * row != array.ElementLength()) {
        throwTypeError(info.Env(), std::string(name) + " must hold 1 to " + std::to_string(max_rows) + " rows of " + std::to_string(row) + " floats");
        return false;
    }
    out.assign(array.Data(), array.Data() + array.ElementLength());
    return true;
}

static Napi::Uint8Array toUint8Array(const Napi::Env& env, const std::vector<uint8_t>& values) {
    Napi::Uint8Array array = Napi::Uint8Array::New(env, values.size());
    if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size());
    return array;
}

static Napi::Float32Array toFloat32Array(const Napi::Env& env, const std::vector<float>& values) {
    Napi::Float32Array array = Napi::Float32Array::New(env, values.size());
    if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(float));
    return array;
}

static Napi::Uint32Array toUint32Array(const Napi::Env& env, const std::vector<llama_token>& values) {
    Napi::Uint32Array array = Napi::Uint32Array::New(env, values.size());
    for (size_t i = 0; i < values.size(); ++i) array[i] = (uint32_t) values[i];
    return array;
}

// Runs one engine call on the libuv pool. The caller holds node-llama-cpp's context lock; the
// state guard puts mask, capture flags and embd_hidden back the way JS expects them.
class ClaspWorker : public Napi::AsyncWorker {
    public:
        ClaspWorker(const Napi::Env& env, AddonContext* context, const char* name)
            : Napi::AsyncWorker(env, name),
              context(context),
              captureAfter(getCaptureWanted(context)),
              deferred(Napi::Promise::Deferred::New(env)) {
            context->Ref();
        }
        ~ClaspWorker() override {
            context->Unref();
        }
        Napi::Promise Queue() {
            Napi::AsyncWorker::Queue();
            return deferred.Promise();
        }

    protected:
        AddonContext* context;
        bool captureAfter;
        Napi::Promise::Deferred deferred;
        double ms = 0;

        virtual clasp::engine_error run() = 0;

        void Execute() override {
            const auto start = std::chrono::steady_clock::now();
            try {
                clasp::ctx_state_guard guard(context->ctx, captureAfter);
                const clasp::engine_error err = run();
                if (!err.ok()) SetError("CLaSp: " + err.message);
            } catch (const std::exception& e) {
                SetError(std::string("CLaSp: ") + e.what());
            } catch (...) {
                SetError("CLaSp: unknown native error");
            }
            ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        }
        void OnError(const Napi::Error& err) override {
            deferred.Reject(err.Value());
        }
};

class ClaspOptimizeWorker : public ClaspWorker {
    public:
        llama_seq_id seqId = 0;
        llama_pos pos = 0;
        std::vector<float> hidden;
        int32_t numSkip = 0;
        bool trace = false;
        clasp::optimize_result result;

        using ClaspWorker::ClaspWorker;

    protected:
        clasp::engine_error run() override {
            return clasp::optimize(context->ctx, seqId, pos, hidden.data(), numSkip, result, trace);
        }
        void OnOK() override {
            Napi::Object out = Napi::Object::New(Env());
            out.Set("mask", toUint8Array(Env(), result.mask));
            out.Set("cosine", Napi::Number::New(Env(), result.cosine));
            out.Set("ms", Napi::Number::New(Env(), ms));
            if (trace) {
                out.Set("skipped", toUint8Array(Env(), result.skipped));
                out.Set("similarity", toFloat32Array(Env(), result.similarity));
            }
            deferred.Resolve(out);
        }
};

class ClaspEvalLayerWorker : public ClaspWorker {
    public:
        llama_seq_id seqId = 0;
        llama_pos pos = 0;
        int32_t layer = 0;
        int32_t n = 0;
        std::vector<float> candidates;
        std::vector<float> result;

        using ClaspWorker::ClaspWorker;

    protected:
        clasp::engine_error run() override {
            clasp::tmp_seqs seqs(context->ctx, seqId, pos);
            clasp::engine_error err = seqs.begin(n);
            if (!err.ok()) return err;
            result.resize(candidates.size());
            return clasp::eval_layer(context->ctx, seqs, layer, candidates.data(), n, result.data());
        }
        void OnOK() override {
            deferred.Resolve(toFloat32Array(Env(), result));
        }
};

static Napi::Object draftResultObject(const Napi::Env& env, const clasp::draft_result& result, bool wantProbabilities) {
    Napi::Object out = Napi::Object::New(env);
    out.Set("tokens", toUint32Array(env, result.tokens));
    out.Set("confidence", toFloat32Array(env, result.confidence));
    if (wantProbabilities) out.Set("probabilities", toFloat32Array(env, result.probabilities));
    return out;
}

class ClaspDraftWorker : public ClaspWorker {
    public:
        llama_seq_id seqId = 0;
        clasp::draft_params params;
        clasp::draft_result result;

        using ClaspWorker::ClaspWorker;

    protected:
        clasp::engine_error run() override {
            return clasp::draft(context->ctx, seqId, params, result);
        }
        void OnOK() override {
            Napi::Object out = draftResultObject(Env(), result, params.want_probabilities);
            out.Set("ms", Napi::Number::New(Env(), ms));
            deferred.Resolve(out);
        }
};

// One speculative round in one thread-pool hop (clasp::round): draft, verify, accept, roll back, DP.
class ClaspRoundWorker : public ClaspWorker {
    public:
        llama_seq_id seqId = 0;
        clasp::round_params params;
        clasp::round_result result;

        using ClaspWorker::ClaspWorker;

    protected:
        clasp::engine_error run() override {
            return clasp::round(context->ctx, seqId, params, result);
        }
        void OnOK() override {
            Napi::Object out = Napi::Object::New(Env());
            out.Set("draft", toUint32Array(Env(), result.draft));
            out.Set("accepted", Napi::Number::New(Env(), result.accepted));
            out.Set("next", Napi::Number::New(Env(), result.next));
            out.Set("mask", result.dp_ran ? Napi::Value(toUint8Array(Env(), result.dp.mask)) : Env().Null());
            out.Set("cosine", Napi::Number::New(Env(), result.dp_ran ? result.dp.cosine : NAN));
            out.Set("draftMs", Napi::Number::New(Env(), result.draft_ms));
            out.Set("verifyMs", Napi::Number::New(Env(), result.verify_ms));
            out.Set("dpMs", Napi::Number::New(Env(), result.dp_ms));
            out.Set("ms", Napi::Number::New(Env(), ms));
            deferred.Resolve(out);
        }
};

static Napi::Value ClaspGetInfo(const Napi::CallbackInfo& info) {
    AddonContext* context = contextArg(info);
    if (context == nullptr) return info.Env().Undefined();

    const clasp::model_info model = contextInfo(context);
    char arch[64] = {0};
    llama_model_meta_val_str(llama_get_model(context->ctx), "general.architecture", arch, sizeof(arch));

    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("supported", Napi::Boolean::New(info.Env(), model.supported));
    out.Set("nLayer", Napi::Number::New(info.Env(), model.n_layer));
    out.Set("nEmbd", Napi::Number::New(info.Env(), model.n_embd));
    out.Set("nVocab", Napi::Number::New(info.Env(), model.n_vocab));
    out.Set("patchVersion", Napi::Number::New(info.Env(), CLASP_PATCH_VERSION));
    out.Set("kvUnified", Napi::Boolean::New(info.Env(), context->context_params.kv_unified));
    out.Set("architecture", Napi::String::New(info.Env(), arch));
    return out;
}

// Whether the model (node-llama-cpp's native LlamaModel._model) can run with layers skipped
static Napi::Value ClaspModelSupportsLayerSkip(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsObject()) return throwTypeError(info.Env(), "the first argument must be node-llama-cpp's native model");
    AddonModel* model = Napi::ObjectWrap<AddonModel>::Unwrap(info[0].As<Napi::Object>());
    if (model == nullptr || model->disposed || model->model == nullptr) return throwError(info.Env(), "the model is disposed or not loaded");
    return Napi::Boolean::New(info.Env(), llama_model_supports_layer_skip(model->model));
}

static Napi::Value ClaspSetCapture(const Napi::CallbackInfo& info) {
    AddonContext* context = contextArg(info);
    if (context == nullptr) return info.Env().Undefined();
    if (info.Length() < 2 || !info[1].IsBoolean()) return throwTypeError(info.Env(), "setCapture expects a boolean");

    const bool on = info[1].As<Napi::Boolean>().Value();
    setCaptureWanted(context, on);
    clasp::set_capture(context->ctx, on);
    return info.Env().Undefined();
}

static Napi::Value ClaspReadHiddenStates(const Napi::CallbackInfo& info) {
    AddonContext* context = contextArg(info);
    if (context == nullptr) return info.Env().Undefined();
    llama_seq_id seqId = 0;
    llama_pos pos = 0;
    if (!seqIdArg(info, 1, seqId) || !posArg(info, context, 2, "pos", pos)) return info.Env().Undefined();
    if (!context->has_batch) return info.Env().Null();

    const clasp::model_info model = contextInfo(context);
    std::vector<float> hidden((size_t) (model.n_layer + 1) * model.n_embd);
    if (!clasp::read_hidden(context->ctx, context->batch, seqId, pos, hidden.data())) return info.Env().Null();
    return toFloat32Array(info.Env(), hidden);
}

static Napi::Value ClaspOptimize(const Napi::CallbackInfo& info) {
    AddonContext* context = contextArg(info);
    if (context == nullptr || !ensureDecodable(info.Env(), context)) return info.Env().Undefined();
    const clasp::model_info model = contextInfo(context);

    auto worker = std::make_unique<ClaspOptimizeWorker>(info.Env(), context, "ClaspOptimizeWorker");
    const size_t hiddenSize = (size_t) (model.n_layer + 1) * model.n_embd; // x_0..x_L as one row
    int64_t numSkip = 0;
    if (!seqIdArg(info, 1, worker->seqId) || !posArg(info, context, 2, "pos", worker->pos) ||
        !float32RowsArg(info, 3, "hidden ((nLayer + 1) * nEmbd floats)", hiddenSize, 1, worker->hidden))
        return info.Env().Undefined();
    if (!intArg(info[4], 0, model.n_layer - 1, numSkip))
        return throwTypeError(info.Env(), "numSkip must be an integer in [0, nLayer - 1]");
    worker->numSkip = (int32_t) numSkip;
    worker->trace = info.Length() > 5 && info[5].ToBoolean().Value();
    return worker.release()->Queue();
}

static Napi::Value ClaspEvalLayerCandidates(const Napi::CallbackInfo& info) {
    AddonContext* context = contextArg(info);
    if (context == nullptr || !ensureDecodable(info.Env(), context)) return info.Env().Undefined();
    const clasp::model_info model = contextInfo(context);

    auto worker = std::make_unique<ClaspEvalLayerWorker>(info.Env(), context, "ClaspEvalLayerWorker");
    int64_t layer = 0;
    if (!seqIdArg(info, 1, worker->seqId) || !posArg(info, context, 2, "pos", worker->pos)) return info.Env().Undefined();
    if (!intArg(info[3], 0, model.n_layer - 1, layer))
        return throwTypeError(info.Env(), "layer must be an integer in [0, nLayer - 1]");
    if (!float32RowsArg(info, 4, "candidates", (size_t) model.n_embd, 32, worker->candidates)) return info.Env().Undefined();
    worker->layer = (int32_t) layer;
    worker->n = (int32_t) (worker->candidates.size() / (size_t) model.n_embd);
    return worker.release()->Queue();
}

// Reads the draft options object of claspDraft; throws and returns false on bad input
static bool draftParamsArg(const Napi::Env& env, const Napi::Object& o, const AddonContext* context, clasp::draft_params& p) {
    const clasp::model_info model = contextInfo(context);
    const Napi::Value pending = o.Get("pending");
    if (!pending.IsTypedArray() || pending.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
        pending.As<Napi::Uint32Array>().ElementLength() < 1 || pending.As<Napi::Uint32Array>().ElementLength() > 512) {
        throwTypeError(env, "pending must be a Uint32Array of 1 to 512 tokens");
        return false;
    }
    Napi::Uint32Array tokens = pending.As<Napi::Uint32Array>();
    for (size_t i = 0; i < tokens.ElementLength(); ++i) {
        if (tokens[i] >= (uint32_t) model.n_vocab) {
            throwTypeError(env, "pending token id out of the vocabulary");
            return false;
        }
        p.pending.push_back((llama_token) tokens[i]);
    }

    int64_t v = 0;
    const int64_t n_ctx = (int64_t) llama_n_ctx(context->ctx);
    if (!intArg(o.Get("startPos"), 0, n_ctx - 1, v)) {
        throwTypeError(env, "startPos must be an integer position inside the context");
        return false;
    }
    p.start_pos = (llama_pos) v;
    if (!intArg(o.Get("maxTokens"), 0, 256, v)) {
        throwTypeError(env, "maxTokens must be an integer in [0, 256]");
        return false;
    }
    p.max_tokens = (int32_t) v;
    if (p.start_pos + (int64_t) p.pending.size() + p.max_tokens > n_ctx) {
        throwError(env, "the draft would run past the context size");
        return false;
    }

    const Napi::Value minConfidence = o.Get("minConfidence");
    if (!minConfidence.IsNumber() || !(minConfidence.As<Napi::Number>().DoubleValue() >= 0) || minConfidence.As<Napi::Number>().DoubleValue() > 1) {
        throwTypeError(env, "minConfidence must be a number in [0, 1]");
        return false;
    }
    p.min_confidence = minConfidence.As<Napi::Number>().FloatValue();

    const Napi::Value temperature = o.Get("temperature");
    if (!temperature.IsUndefined()) {
        if (!temperature.IsNumber() || !(temperature.As<Napi::Number>().DoubleValue() >= 0) || !std::isfinite(temperature.As<Napi::Number>().DoubleValue())) {
            throwTypeError(env, "temperature must be a finite number >= 0");
            return false;
        }
        p.temperature = temperature.As<Napi::Number>().FloatValue();
    }
    const Napi::Value seed = o.Get("seed");
    if (!seed.IsUndefined()) {
        if (!intArg(seed, 0, (int64_t) 1 << 53, v)) {
            throwTypeError(env, "seed must be a non-negative integer");
            return false;
        }
        p.seed = (uint64_t) v;
    }
    p.want_probabilities = o.Get("wantProbabilities").ToBoolean().Value();
    return maskFromValue(env, o.Get("mask"), model.n_layer, p.mask);
}

static Napi::Value ClaspDraft(const Napi::CallbackInfo& info) {
    AddonContext* context = contextArg(info);
    if (context == nullptr || !ensureDecodable(info.Env(), context)) return info.Env().Undefined();
    llama_seq_id seqId = 0;
    if (!seqIdArg(info, 1, seqId)) return info.Env().Undefined();
    if (!info[2].IsObject()) return throwTypeError(info.Env(), "draft options must be an object");

    auto worker = std::make_unique<ClaspDraftWorker>(info.Env(), context, "ClaspDraftWorker");
    worker->seqId = seqId;
    if (!draftParamsArg(info.Env(), info[2].As<Napi::Object>(), context, worker->params)) return info.Env().Undefined();
    return worker.release()->Queue();
}

static bool optionalInt(const Napi::Env& env, const Napi::Object& o, const char* name, int64_t min, int64_t max, int64_t fallback, int64_t& out) {
    const Napi::Value value = o.Get(name);
    if (value.IsUndefined() || value.IsNull()) {
        out = fallback;
        return true;
    }
    if (intArg(value, min, max, out)) return true;
    throwTypeError(env, std::string(name) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return false;
}

static bool optionalNumber(const Napi::Env& env, const Napi::Object& o, const char* name, double min, double max, double fallback, float& out) {
    const Napi::Value value = o.Get(name);
    if (value.IsUndefined() || value.IsNull()) {
        out = (float) fallback;
        return true;
    }
    const double v = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
    if (v >= min && v <= max) {
        out = (float) v;
        return true;
    }
    throwTypeError(env, std::string(name) + " must be a number in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return false;
}

// Reads the round options; throws and returns false on bad input
static bool roundParamsArg(const Napi::Env& env, const Napi::Object& o, const AddonContext* context, clasp::round_params& p) {
    const clasp::model_info model = contextInfo(context);
    const int64_t n_ctx = (int64_t) llama_n_ctx(context->ctx);
    int64_t v = 0;
    if (!intArg(o.Get("pending"), 0, model.n_vocab - 1, v)) {
        throwTypeError(env, "pending must be a token id of this model");
        return false;
    }
    p.pending = (llama_token) v;
    if (!intArg(o.Get("startPos"), 0, n_ctx - 1, v)) {
        throwTypeError(env, "startPos must be an integer position inside the context");
        return false;
    }
    p.start_pos = (llama_pos) v;

    const Napi::Value proposal = o.Get("proposal");
    if (!proposal.IsUndefined() && !proposal.IsNull()) {
        if (!proposal.IsTypedArray() || proposal.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
            proposal.As<Napi::Uint32Array>().ElementLength() > 256) {
            throwTypeError(env, "proposal must be a Uint32Array of at most 256 tokens");
            return false;
        }
        Napi::Uint32Array tokens = proposal.As<Napi::Uint32Array>();
        for (size_t i = 0; i < tokens.ElementLength(); ++i) {
            if (tokens[i] >= (uint32_t) model.n_vocab) {
                throwTypeError(env, "proposal token id out of the vocabulary");
                return false;
            }
            p.proposal.push_back((llama_token) tokens[i]);
        }
    }
    if (!optionalInt(env, o, "draftMax", 0, 256, 0, v)) return false;
    p.draft_max = (int32_t) v;
    if (p.draft_max > 0 && !p.proposal.empty()) {
        throwTypeError(env, "a round either drafts (draftMax > 0) or verifies a proposal, not both");
        return false;
    }
    if (!maskFromValue(env, o.Get("mask"), model.n_layer, p.draft_mask)) return false;
    if (!optionalNumber(env, o, "minConfidence", 0, 1, 0, p.min_confidence)) return false;
    const int64_t longest = std::max<int64_t>((int64_t) p.proposal.size(), p.draft_max);
    if (p.start_pos + 1 + longest > n_ctx) {
        throwError(env, "the round would run past the context size");
        return false;
    }

    // absent truncation settings truncate nothing; JS passes node-llama-cpp's own defaults
    if (!optionalNumber(env, o, "temperature", 0, 1e6, 0, p.sampling.temperature)) return false;
    if (!optionalInt(env, o, "topK", -1, 1 << 30, 0, v)) return false;
    p.sampling.top_k = (int32_t) v;
    if (!optionalNumber(env, o, "topP", 0, 1, 1, p.sampling.top_p)) return false;
    if (!optionalNumber(env, o, "minP", 0, 1, 0, p.sampling.min_p)) return false;
    if (!optionalInt(env, o, "seed", 0, (int64_t) 1 << 53, 0, v)) return false;
    p.sampling.seed = (uint64_t) v;

    p.run_dp = o.Get("runDp").ToBoolean().Value();
    p.dp_at_pending = o.Get("dpAtPending").ToBoolean().Value();
    if (p.run_dp) {
        if (!intArg(o.Get("numSkip"), 0, model.n_layer - 1, v)) {
            throwTypeError(env, "numSkip must be an integer in [0, nLayer - 1]");
            return false;
        }
        p.n_skip = (int32_t) v;
    }

    const Napi::Value threads = o.Get("threads");
    if (!threads.IsUndefined() && !threads.IsNull()) {
        if (!threads.IsObject()) {
            throwTypeError(env, "threads must be an object { single, batch, dp }");
            return false;
        }
        const Napi::Object t = threads.As<Napi::Object>();
        if (!optionalInt(env, t, "single", 0, 512, 0, v)) return false;
        p.threads.single = (int32_t) v;
        if (!optionalInt(env, t, "batch", 0, 512, 0, v)) return false;
        p.threads.batch = (int32_t) v;
        if (!optionalInt(env, t, "dp", 0, 512, 0, v)) return false;
        p.threads.dp = (int32_t) v;
    }
    return true;
}

static Napi::Value ClaspRound(const Napi::CallbackInfo& info) {
    AddonContext* context = contextArg(info);
    if (context == nullptr || !ensureDecodable(info.Env(), context)) return info.Env().Undefined();
    llama_seq_id seqId = 0;
    if (!seqIdArg(info, 1, seqId)) return info.Env().Undefined();
    if (!info[2].IsObject()) return throwTypeError(info.Env(), "round options must be an object");

    auto worker = std::make_unique<ClaspRoundWorker>(info.Env(), context, "ClaspRoundWorker");
    worker->seqId = seqId;
    if (!roundParamsArg(info.Env(), info[2].As<Napi::Object>(), context, worker->params)) return info.Env().Undefined();
    return worker.release()->Queue();
}

static Napi::Value ClaspSetLayerSkip(const Napi::CallbackInfo& info) {
    AddonContext* context = contextArg(info);
    if (context == nullptr) return info.Env().Undefined();
    const clasp::model_info model = contextInfo(context);
    std::vector<uint8_t> mask;
    if (!maskFromValue(info.Env(), info.Length() > 1 ? info[1] : info.Env().Null(), model.n_layer, mask)) return info.Env().Undefined();
    const bool ok = llama_set_layer_skip(context->ctx, mask.empty() ? nullptr : mask.data(), (int32_t) mask.size());
    return Napi::Boolean::New(info.Env(), ok);
}

static Napi::Value ClaspGetLayerSkip(const Napi::CallbackInfo& info) {
    AddonContext* context = contextArg(info);
    if (context == nullptr) return info.Env().Undefined();
    const int32_t n_layer = llama_get_layer_skip(context->ctx, nullptr, 0);
    std::vector<uint8_t> mask(n_layer, 0);
    llama_get_layer_skip(context->ctx, mask.data(), n_layer);
    return toUint8Array(info.Env(), mask);
}

// glibc keeps what the process freed in its arenas for reuse, so RSS stays at a busy spell's peak;
// the engine calls this when it goes quiet (src/engine/service/idleReclaim.ts).
static Napi::Value ClaspTrimNativeHeap(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
    return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
    return Napi::Boolean::New(info.Env(), false);
#endif
}

void addonClaspInit(Napi::Object exports) {
    exports.DefineProperties({
        Napi::PropertyDescriptor::Function("claspGetInfo", ClaspGetInfo),
        Napi::PropertyDescriptor::Function("claspModelSupportsLayerSkip", ClaspModelSupportsLayerSkip),
        Napi::PropertyDescriptor::Function("claspSetCapture", ClaspSetCapture),
        Napi::PropertyDescriptor::Function("claspReadHiddenStates", ClaspReadHiddenStates),
        Napi::PropertyDescriptor::Function("claspOptimize", ClaspOptimize),
        Napi::PropertyDescriptor::Function("claspEvalLayerCandidates", ClaspEvalLayerCandidates),
        Napi::PropertyDescriptor::Function("claspDraft", ClaspDraft),
        Napi::PropertyDescriptor::Function("claspRound", ClaspRound),
        Napi::PropertyDescriptor::Function("claspSetLayerSkip", ClaspSetLayerSkip),
        Napi::PropertyDescriptor::Function("claspGetLayerSkip", ClaspGetLayerSkip),
        Napi::PropertyDescriptor::Function("claspTrimNativeHeap", ClaspTrimNativeHeap),
        Napi::PropertyDescriptor::Value("claspPatchVersion", Napi::Number::New(exports.Env(), CLASP_PATCH_VERSION)),
    });
}
