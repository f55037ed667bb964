/* ref_embed.h: naive embedding lookup and its gradient (double accumulation), for tests. */
#ifndef DOB_REF_EMBED_H
#define DOB_REF_EMBED_H

#include <stdint.h>

/** y [p, e] = w[ids[p], e] for p < np. */
void ref_embed_forward(const float *ids, int64_t np, const float *w, int64_t e, float *y);
/** dw [v, e] = sum over p with ids[p] = v of dy[p, e]; overwrites all v rows. */
void ref_embed_backward(const float *ids, int64_t np, const float *dy, int64_t v, int64_t e, float *dw);

#endif
