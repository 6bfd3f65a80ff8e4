// Thread counts per phase (src/engine/threadPlan.ts): llama.cpp runs one-token decodes on n_threads and
// larger batches on n_threads_batch; node-llama-cpp only ever sets both to the same value. These exports
// set them apart and time raw decodes at a given setting. Registered by native/build.mjs.
//
//   claspSetThreads(ctx, nThreads, nThreadsBatch)
//   claspGetThreads(ctx) -> { threads, threadsBatch }
//   claspTimeDecode(ctx, seqId, startPos, tokens: Uint32Array, repeats) -> Promise<Float64Array>
//     decodes `tokens` at [startPos, startPos + n) of the sequence, logits on every row (as a verify
//     batch needs), then removes those cells again; one wall time in ms per repeat. startPos must be the
//     end of the sequence, so no committed cell is ever touched. Call under node-llama-cpp's context lock.
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "AddonContext.h"
#include "llama.h"
#include "napi.h"

namespace {

AddonContext* loadedContext(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsObject()) {
        Napi::TypeError::New(info.Env(), "CLaSp: the first argument must be node-llama-cpp's native context").ThrowAsJavaScriptException();
        return nullptr;
    }
    AddonContext* context = Napi::ObjectWrap<AddonContext>::Unwrap(info[0].As<Napi::Object>());
    if (context == nullptr || context->disposed || context->ctx == nullptr) {
        Napi::Error::New(info.Env(), "CLaSp: the context is disposed or not loaded").ThrowAsJavaScriptException();
        return nullptr;
    }
    return context;
}

bool integerIn(const Napi::Value& value, double min, double max, int64_t& out) {
    if (!value.IsNumber()) return false;
    const double v = value.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(v) || std::floor(v) != v || v < min || v > max) return false;
    out = (int64_t) v;
    return true;
}

Napi::Value setThreads(const Napi::CallbackInfo& info) {
    AddonContext* context = loadedContext(info);
    if (context == nullptr) return info.Env().Undefined();
    int64_t threads = 0, threadsBatch = 0;
    if (info.Length() < 3 || !integerIn(info[1], 1, 1024, threads) || !integerIn(info[2], 1, 1024, threadsBatch)) {
        Napi::TypeError::New(info.Env(), "CLaSp: thread counts must be integers in [1, 1024]").ThrowAsJavaScriptException();
        return info.Env().Undefined();
    }
    llama_set_n_threads(context->ctx, (int32_t) threads, (int32_t) threadsBatch);
    return info.Env().Undefined();
}

Napi::Value getThreads(const Napi::CallbackInfo& info) {
    AddonContext* context = loadedContext(info);
    if (context == nullptr) return info.Env().Undefined();
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("threads", Napi::Number::New(info.Env(), llama_n_threads(context->ctx)));
    result.Set("threadsBatch", Napi::Number::New(info.Env(), llama_n_threads_batch(context->ctx)));
    return result;
}

class TimeDecodeWorker : public Napi::AsyncWorker {
public:
    TimeDecodeWorker(const Napi::Env& env, AddonContext* context, llama_seq_id seqId, llama_pos startPos, std::vector<llama_token> tokens, int32_t repeats)
        : Napi::AsyncWorker(env, "claspTimeDecode"), deferred(Napi::Promise::Deferred::New(env)), context(context),
          seqId(seqId), startPos(startPos), tokens(std::move(tokens)), repeats(repeats) {
        context->Ref();
    }
    ~TimeDecodeWorker() override { context->Unref(); }

    Napi::Promise promise() { return deferred.Promise(); }

protected:
    void Execute() override {
        llama_context* ctx = context->ctx;
        llama_memory_t memory = llama_get_memory(ctx);
        if (llama_memory_seq_pos_max(memory, seqId) + 1 != startPos) {
            SetError("CLaSp: claspTimeDecode needs startPos at the end of the sequence");
            return;
        }
        const int32_t n = (int32_t) tokens.size();
        llama_batch batch = llama_batch_init(n, 0, 1);
        for (int32_t i = 0; i < n; ++i) {
            batch.token[i] = tokens[i];
            batch.pos[i] = startPos + i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = seqId;
            batch.logits[i] = 1;
        }
        batch.n_tokens = n;
        for (int32_t r = 0; r < repeats; ++r) {
            const auto started = std::chrono::steady_clock::now();
            const int32_t status = llama_decode(ctx, batch);
            llama_synchronize(ctx);
            const auto ended = std::chrono::steady_clock::now();
            llama_memory_seq_rm(memory, seqId, startPos, -1);
            if (status != 0) {
                SetError("CLaSp: llama_decode failed with status " + std::to_string(status));
                break;
            }
            ms.push_back(std::chrono::duration<double, std::milli>(ended - started).count());
        }
        llama_batch_free(batch);
    }
    void OnOK() override {
        Napi::Float64Array result = Napi::Float64Array::New(Env(), ms.size());
        for (size_t i = 0; i < ms.size(); ++i) result[i] = ms[i];
        deferred.Resolve(result);
    }
    void OnError(const Napi::Error& error) override { deferred.Reject(error.Value()); }

private:
    Napi::Promise::Deferred deferred;
    AddonContext* context;
    llama_seq_id seqId;
    llama_pos startPos;
    std::vector<llama_token> tokens;
    int32_t repeats;
    std::vector<double> ms;
};

Napi::Value timeDecode(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    AddonContext* context = loadedContext(info);
    if (context == nullptr) return env.Undefined();
    int64_t seqId = 0, startPos = 0, repeats = 0;
    if (info.Length() < 5 || !integerIn(info[1], 0, 200, seqId) || !integerIn(info[2], 0, llama_n_ctx(context->ctx) - 1, startPos) ||
        !integerIn(info[4], 1, 1000, repeats)) {
        Napi::TypeError::New(env, "CLaSp: claspTimeDecode(ctx, seqId, startPos, tokens, repeats) got an invalid argument").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
        Napi::TypeError::New(env, "CLaSp: tokens must be a Uint32Array").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    Napi::Uint32Array array = info[3].As<Napi::Uint32Array>();
    const int32_t nVocab = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(context->ctx)));
    const size_t n = array.ElementLength();
    if (n == 0 || n > llama_n_ubatch(context->ctx) || startPos + (int64_t) n > (int64_t) llama_n_ctx(context->ctx)) {
        Napi::RangeError::New(env, "CLaSp: tokens must be 1 to n_ubatch tokens that fit in the context").ThrowAsJavaScriptException();
        return env.Undefined();
    }
    std::vector<llama_token> tokens(n);
    for (size_t i = 0; i < n; ++i) {
        if (array[i] >= (uint32_t) nVocab) {
            Napi::RangeError::New(env, "CLaSp: token " + std::to_string(array[i]) + " is not in the vocabulary").ThrowAsJavaScriptException();
            return env.Undefined();
        }
        tokens[i] = (llama_token) array[i];
    }
    auto* worker = new TimeDecodeWorker(env, context, (llama_seq_id) seqId, (llama_pos) startPos, std::move(tokens), (int32_t) repeats);
    worker->Queue();
    return worker->promise();
}

} // namespace

void addonClaspThreadsInit(Napi::Object exports) {
    exports.Set("claspSetThreads", Napi::Function::New(exports.Env(), setThreads));
    exports.Set("claspGetThreads", Napi::Function::New(exports.Env(), getThreads));
    exports.Set("claspTimeDecode", Napi::Function::New(exports.Env(), timeDecode));
}
