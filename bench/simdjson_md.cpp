// zws-bench-simdjson: the market-data extractor beside simdjson's On-Demand
// API on the same generated messages, reading the same fields (ids, prices
// and quantities as fixed point, levels), in one run. Median of several
// repetitions; the ratio is the figure that holds across machines.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "md_corpus.h"
#include "zws/md.h"

namespace {

constexpr int kMsgs = 4096;

struct Corpus {
    std::vector<simdjson::padded_string> msgs;
    size_t bytes = 0;
};

Corpus make_corpus(int kind) {
    Corpus c;
    md_corpus(
        kind, kMsgs,
        [](const char *msg, size_t len, void *ud) {
            Corpus *cc = static_cast<Corpus *>(ud);
            cc->msgs.emplace_back(msg, len);
            cc->bytes += len;
        },
        &c);
    return c;
}

int64_t fixed(std::string_view v) {
    int64_t out = 0;
    zws_md_decimal(v.data(), v.size(), 8, &out);
    return out;
}

// The same fields zws_md_parse gives, through On-Demand.
int64_t simdjson_fields(simdjson::ondemand::parser &p, const simdjson::padded_string &m,
                        int kind) {
    int64_t sum = 0;
    auto doc = p.iterate(m);
    // a bookTicker's fields, from the document or from the envelope's data
    auto ticker = [&](auto &&o) {
        sum += o["u"].get_int64().value();
        sum += o["s"].get_string().value().size();
        sum += fixed(o["b"].get_string().value());
        sum += fixed(o["B"].get_string().value());
        sum += fixed(o["a"].get_string().value());
        sum += fixed(o["A"].get_string().value());
    };
    if (kind == MD_CORPUS_TICKER_STREAM) {
        sum += doc["stream"].get_string().value().size();
        ticker(doc["data"]);
    } else if (kind == MD_CORPUS_TICKER) {
        ticker(doc);
    } else if (kind == MD_CORPUS_TRADE) {
        sum += doc["E"].get_int64().value();
        sum += doc["s"].get_string().value().size();
        sum += doc["t"].get_int64().value();
        sum += fixed(doc["p"].get_string().value());
        sum += fixed(doc["q"].get_string().value());
        sum += doc["T"].get_int64().value();
        sum += doc["m"].get_bool().value();
    } else {
        sum += doc["lastUpdateId"].get_int64().value();
        for (auto side : {"bids", "asks"})
            for (auto lv : doc[side].get_array()) {
                auto a = lv.get_array();
                auto it = a.begin();
                sum += fixed((*it).get_string().value());
                ++it;
                sum += fixed((*it).get_string().value());
            }
    }
    return sum;
}

template <class F> double median_ns(F body, int reps) {
    std::vector<double> t;
    for (int r = 0; r < reps; r++) {
        auto a = std::chrono::steady_clock::now();
        int iters = 0;
        double el = 0;
        do {
            body();
            iters++;
            el = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
        } while (el < 0.1);
        t.push_back(el * 1e9 / (double(iters) * kMsgs));
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
    int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
    const char *names[MD_CORPUS_KINDS] = {"bookTicker", "trade", "depth20",
                                          "bookTicker, combined stream"};
    std::printf("market data: zws_md_parse vs simdjson On-Demand (%s kernel), median of %d\n\n",
                simdjson::get_active_implementation()->name().c_str(), reps);
    std::printf("| message                     | bytes | zws_md_parse | simdjson On-Demand | zws speed-up |\n");
    std::printf("|-----------------------------|------:|-------------:|-------------------:|-------------:|\n");
    static zws_md_level storage[64];
    for (int k = 0; k < MD_CORPUS_KINDS; k++) {
        Corpus c = make_corpus(k);
        zws_md_parser zp;
        zws_md_parser_init(&zp, storage, 64);
        volatile int64_t sink = 0;
        double tz = median_ns(
            [&] {
                zws_md_msg m;
                for (auto &s : c.msgs) {
                    if (zws_md_parse(&zp, (const uint8_t *)s.data(), s.size(), &m))
                        std::abort();
                    sink = sink + m.id + m.bid_px + m.px + (int64_t)m.nbids;
                }
            },
            reps);
        simdjson::ondemand::parser p;
        double ts = median_ns(
            [&] {
                for (auto &s : c.msgs)
                    sink = sink + simdjson_fields(p, s, k);
            },
            reps);
        std::printf("| %-27s | %5zu | %9.1f ns | %15.1f ns | %11.2fx |\n", names[k],
                    c.bytes / kMsgs, tz, ts, ts / tz);
    }
    return 0;
}
