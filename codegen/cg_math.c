/*
 * cg_math: exp and log in LLVM IR (see cg_math.h).
 */
#include "cg_math.h"

#include <math.h>

/* The float format of a value's type, and the types and constants that
 * come with it (vectors of the same lanes where the value is a vector). */
typedef struct fmt {
	LLVMTypeRef f;   /* the value's type */
	LLVMTypeRef i;   /* the integer of the same width (its bits) */
	LLVMTypeRef i32; /* i32, or a vector of i32 */
	bool wide;       /* f64 */
	int mant, bias;  /* mantissa bits, exponent bias */
} fmt;

static fmt fmt_of(cg_emit *g, LLVMTypeRef ty)
{
	bool vec = LLVMGetTypeKind(ty) == LLVMVectorTypeKind;
	unsigned lanes = vec ? LLVMGetVectorSize(ty) : 1;
	LLVMTypeRef el = vec ? LLVMGetElementType(ty) : ty;
	fmt f;

	f.f = ty;
	f.wide = LLVMGetTypeKind(el) == LLVMDoubleTypeKind;
	f.i = f.wide ? g->i64 : g->i32;
	f.i32 = g->i32;
	if (vec) {
		f.i = LLVMVectorType(f.i, lanes);
		f.i32 = LLVMVectorType(g->i32, lanes);
	}
	f.mant = f.wide ? 52 : 23;
	f.bias = f.wide ? 1023 : 127;
	return f;
}

/* A constant of (scalar or vector) type ty: every lane v. */
static LLVMValueRef splat(LLVMTypeRef ty, LLVMValueRef v)
{
	unsigned n;
	LLVMValueRef lanes[CG_MAX_VL];

	if (LLVMGetTypeKind(ty) != LLVMVectorTypeKind)
		return v;
	n = LLVMGetVectorSize(ty);
	for (unsigned i = 0; i < n && i < CG_MAX_VL; i++)
		lanes[i] = v;
	return LLVMConstVector(lanes, n);
}

static LLVMTypeRef scalar_of(LLVMTypeRef ty)
{
	return LLVMGetTypeKind(ty) == LLVMVectorTypeKind ? LLVMGetElementType(ty) : ty;
}

static LLVMValueRef kf(LLVMTypeRef ty, double v)
{
	return splat(ty, LLVMConstReal(scalar_of(ty), v));
}

static LLVMValueRef ki(LLVMTypeRef ty, unsigned long long v)
{
	return splat(ty, LLVMConstInt(scalar_of(ty), v, 0));
}

static LLVMValueRef horner(cg_emit *g, LLVMValueRef x, const double *c, int n)
{
	LLVMValueRef r = kf(LLVMTypeOf(x), c[n - 1]);

	for (int i = n - 2; i >= 0; i--)
		r = LLVMBuildFAdd(g->B, LLVMBuildFMul(g->B, r, x, ""), kf(LLVMTypeOf(x), c[i]), "");
	return r;
}

static LLVMValueRef call1(cg_emit *g, const char *name, LLVMTypeRef ty, LLVMValueRef a)
{
	return cg_emit_intrinsic(g, name, &ty, 1, &a, 1);
}

static LLVMValueRef call2(cg_emit *g, const char *name, LLVMTypeRef ty, LLVMValueRef a, LLVMValueRef b)
{
	return cg_emit_intrinsic(g, name, &ty, 1, (LLVMValueRef[]){a, b}, 2);
}

/* 2^n for an i32 n of the format's normal exponents, as a float. */
static LLVMValueRef pow2(cg_emit *g, const fmt *f, LLVMValueRef n)
{
	LLVMValueRef e = f->wide ? LLVMBuildSExt(g->B, n, f->i, "") : n;

	e = LLVMBuildAdd(g->B, e, ki(f->i, (unsigned long long)f->bias), "");
	return LLVMBuildBitCast(g->B, LLVMBuildShl(g->B, e, ki(f->i, (unsigned long long)f->mant), ""), f->f, "");
}

/* ln 2 in two parts: n * hi is exact for the n that occur. */
#define LN2_HI_F64 6.93147180369123816490e-01
#define LN2_LO_F64 1.90821492927058770002e-10
#define LN2_HI_F32 0.693359375
#define LN2_LO_F32 (-2.12194440e-4)

static LLVMValueRef exp_ir(cg_emit *g, LLVMValueRef x)
{
	static const double c[14] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
				     1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600,
				     1.0 / 6227020800.0};
	fmt f = fmt_of(g, LLVMTypeOf(x));
	LLVMValueRef xc, n, nf, r, p, n1, n2;

	/* beyond the clamps the result is 0 or inf already */
	xc = call2(g, "llvm.maxnum", f.f, x, kf(f.f, f.wide ? -746.0 : -104.0));
	xc = call2(g, "llvm.minnum", f.f, xc, kf(f.f, f.wide ? 710.0 : 89.0));
	nf = call1(g, "llvm.rint", f.f, LLVMBuildFMul(g->B, xc, kf(f.f, 1.4426950408889634), ""));
	r = LLVMBuildFSub(g->B, xc, LLVMBuildFMul(g->B, nf, kf(f.f, f.wide ? LN2_HI_F64 : LN2_HI_F32), ""), "");
	r = LLVMBuildFSub(g->B, r, LLVMBuildFMul(g->B, nf, kf(f.f, f.wide ? LN2_LO_F64 : LN2_LO_F32), ""), "");
	p = horner(g, r, c, f.wide ? 14 : 8);
	n = LLVMBuildFPToSI(g->B, nf, f.i32, "");
	n1 = LLVMBuildAShr(g->B, n, ki(f.i32, 1), "");
	n2 = LLVMBuildSub(g->B, n, n1, "");
	p = LLVMBuildFMul(g->B, LLVMBuildFMul(g->B, p, pow2(g, &f, n1), ""), pow2(g, &f, n2), "");
	/* NaN stays NaN (maxnum would have dropped it) */
	return LLVMBuildSelect(g->B, LLVMBuildFCmp(g->B, LLVMRealUNO, x, x, ""), x, p, "");
}

static LLVMValueRef log_ir(cg_emit *g, LLVMValueRef x)
{
	static const double c[12] = {1.0, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13, 1.0 / 15,
				     1.0 / 17, 1.0 / 19, 1.0 / 21, 1.0 / 23};
	fmt f = fmt_of(g, LLVMTypeOf(x));
	LLVMTypeRef d = f.f, l = f.i;
	/* subnormals are scaled by 2^(mant + 2) first */
	unsigned long long up = (unsigned long long)f.mant + 2, expmask = f.wide ? 0x7ff : 0xff;
	unsigned long long mantmask = (1ULL << f.mant) - 1, one = (unsigned long long)f.bias << f.mant;
	LLVMValueRef sub = LLVMBuildFCmp(g->B, LLVMRealOLT, x, kf(d, f.wide ? 2.2250738585072014e-308 : 1.17549435e-38), "");
	LLVMValueRef xs = LLVMBuildSelect(g->B, sub, LLVMBuildFMul(g->B, x, kf(d, ldexp(1.0, (int)up)), ""), x, "");
	LLVMValueRef bits = LLVMBuildBitCast(g->B, xs, l, "");
	LLVMValueRef e = LLVMBuildSub(g->B, LLVMBuildAnd(g->B, LLVMBuildLShr(g->B, bits, ki(l, (unsigned long long)f.mant), ""),
							 ki(l, expmask), ""),
				      ki(l, (unsigned long long)f.bias), "");
	LLVMValueRef mb = LLVMBuildOr(g->B, LLVMBuildAnd(g->B, bits, ki(l, mantmask), ""), ki(l, one), "");
	LLVMValueRef m = LLVMBuildBitCast(g->B, mb, d, ""), big, s, z, lm, ef, r;

	e = LLVMBuildSub(g->B, e, LLVMBuildSelect(g->B, sub, ki(l, up), ki(l, 0), ""), "");
	big = LLVMBuildFCmp(g->B, LLVMRealOGT, m, kf(d, 1.4142135623730951), "");
	m = LLVMBuildSelect(g->B, big, LLVMBuildFMul(g->B, m, kf(d, 0.5), ""), m, "");
	e = LLVMBuildAdd(g->B, e, LLVMBuildZExt(g->B, big, l, ""), "");
	s = LLVMBuildFDiv(g->B, LLVMBuildFSub(g->B, m, kf(d, 1.0), ""), LLVMBuildFAdd(g->B, m, kf(d, 1.0), ""), "");
	z = LLVMBuildFMul(g->B, s, s, "");
	lm = LLVMBuildFMul(g->B, LLVMBuildFMul(g->B, s, kf(d, 2.0), ""), horner(g, z, c, f.wide ? 12 : 6), "");
	ef = LLVMBuildSIToFP(g->B, e, d, "");
	r = LLVMBuildFAdd(g->B, LLVMBuildFMul(g->B, ef, kf(d, f.wide ? LN2_HI_F64 : LN2_HI_F32), ""),
			  LLVMBuildFAdd(g->B, lm, LLVMBuildFMul(g->B, ef, kf(d, f.wide ? LN2_LO_F64 : LN2_LO_F32), ""), ""),
			  "");
	/* special values: x < 0 or NaN -> NaN, 0 -> -inf, inf -> inf */
	r = LLVMBuildSelect(g->B, LLVMBuildFCmp(g->B, LLVMRealOEQ, x, kf(d, INFINITY), ""), x, r, "");
	r = LLVMBuildSelect(g->B, LLVMBuildFCmp(g->B, LLVMRealOEQ, x, kf(d, 0.0), ""), kf(d, -INFINITY), r, "");
	return LLVMBuildSelect(g->B, LLVMBuildFCmp(g->B, LLVMRealOGE, x, kf(d, 0.0), ""), r, kf(d, NAN), "");
}

LLVMValueRef cg_math_exp_log(cg_emit *g, bool is_exp, LLVMValueRef x)
{
	return is_exp ? exp_ir(g, x) : log_ir(g, x);
}
