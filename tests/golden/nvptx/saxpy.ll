; ModuleID = "saxpy"
target triple = "nvptx64-nvidia-cuda"
target datalayout = "e-p6:32:32-i64:64-i128:128-i256:256-v16:16-v32:32-n16:32:64"

define ptx_kernel void @"saxpy__map"(i64 %"n", float %"a", ptr noalias readonly align 16 %"x", ptr noalias align 16 %"y") nounwind
{
entry:
  %"n.1" = alloca i64
  %"a.1" = alloca float
  %"i" = alloca i64
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  %"kk" = alloca i64
  store i64 %"n", i64* %"n.1"
  store float %"a", float* %"a.1"
  %".8" = load i64, i64* %"n.1"
  %".9" = load i64, i64* %"n.1"
  %".10" = load i64, i64* %"n.1"
  %".11" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".12" = zext i32 %".11" to i64
  %".13" = mul i64 %".12", 1024
  %".14" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".15" = zext i32 %".14" to i64
  %".16" = mul i64 %".15", 4
  %".17" = add i64 %".13", %".16"
  %".18" = add i64 %".17", 4
  %".19" = icmp ule i64 %".18", %".10"
  br i1 %".19", label %"k.full", label %"k.part"
k.full:
  %".21" = add i64 %".17", 0
  store i64 %".21", i64* %"i"
  %".23" = load i64, i64* %"i"
  %".24" = load float, float* %"a.1"
  %".25" = load i64, i64* %"i"
  %".26" = getelementptr inbounds float, ptr %"x", i64 %".25"
  %".27" = load float, ptr %".26", align 4
  %".28" = fmul float %".24", %".27"
  %".29" = load i64, i64* %"i"
  %".30" = getelementptr inbounds float, ptr %"y", i64 %".29"
  %".31" = load float, ptr %".30", align 4
  %".32" = fadd float %".28", %".31"
  %".33" = getelementptr inbounds float, ptr %"y", i64 %".23"
  store float %".32", ptr %".33", align 4
  %".35" = add i64 %".17", 1
  store i64 %".35", i64* %"i"
  %".37" = load i64, i64* %"i"
  %".38" = load float, float* %"a.1"
  %".39" = load i64, i64* %"i"
  %".40" = getelementptr inbounds float, ptr %"x", i64 %".39"
  %".41" = load float, ptr %".40", align 4
  %".42" = fmul float %".38", %".41"
  %".43" = load i64, i64* %"i"
  %".44" = getelementptr inbounds float, ptr %"y", i64 %".43"
  %".45" = load float, ptr %".44", align 4
  %".46" = fadd float %".42", %".45"
  %".47" = getelementptr inbounds float, ptr %"y", i64 %".37"
  store float %".46", ptr %".47", align 4
  %".49" = add i64 %".17", 2
  store i64 %".49", i64* %"i"
  %".51" = load i64, i64* %"i"
  %".52" = load float, float* %"a.1"
  %".53" = load i64, i64* %"i"
  %".54" = getelementptr inbounds float, ptr %"x", i64 %".53"
  %".55" = load float, ptr %".54", align 4
  %".56" = fmul float %".52", %".55"
  %".57" = load i64, i64* %"i"
  %".58" = getelementptr inbounds float, ptr %"y", i64 %".57"
  %".59" = load float, ptr %".58", align 4
  %".60" = fadd float %".56", %".59"
  %".61" = getelementptr inbounds float, ptr %"y", i64 %".51"
  store float %".60", ptr %".61", align 4
  %".63" = add i64 %".17", 3
  store i64 %".63", i64* %"i"
  %".65" = load i64, i64* %"i"
  %".66" = load float, float* %"a.1"
  %".67" = load i64, i64* %"i"
  %".68" = getelementptr inbounds float, ptr %"x", i64 %".67"
  %".69" = load float, ptr %".68", align 4
  %".70" = fmul float %".66", %".69"
  %".71" = load i64, i64* %"i"
  %".72" = getelementptr inbounds float, ptr %"y", i64 %".71"
  %".73" = load float, ptr %".72", align 4
  %".74" = fadd float %".70", %".73"
  %".75" = getelementptr inbounds float, ptr %"y", i64 %".65"
  store float %".74", ptr %".75", align 4
  br label %"k.chunk"
k.part:
  %".78" = add i64 %".17", 4
  %".79" = icmp ult i64 %".78", %".10"
  %".80" = select  i1 %".79", i64 %".78", i64 %".10"
  store i64 %".17", i64* %"pos"
  br label %"k.head"
k.chunk:
  ret void
k.head:
  %".83" = load i64, i64* %"pos"
  %".84" = icmp ult i64 %".83", %".80"
  br i1 %".84", label %"k.loop", label %"k.done"
k.loop:
  store i64 %".83", i64* %"i"
  %".87" = load i64, i64* %"i"
  %".88" = load float, float* %"a.1"
  %".89" = load i64, i64* %"i"
  %".90" = getelementptr inbounds float, ptr %"x", i64 %".89"
  %".91" = load float, ptr %".90", align 4
  %".92" = fmul float %".88", %".91"
  %".93" = load i64, i64* %"i"
  %".94" = getelementptr inbounds float, ptr %"y", i64 %".93"
  %".95" = load float, ptr %".94", align 4
  %".96" = fadd float %".92", %".95"
  %".97" = getelementptr inbounds float, ptr %"y", i64 %".87"
  store float %".96", ptr %".97", align 4
  %".99" = load i64, i64* %"pos"
  %".100" = add i64 %".99", 1
  store i64 %".100", i64* %"pos"
  br label %"k.head"
k.done:
  br label %"k.chunk"
}

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()

!nvvm.annotations = !{ !0, !1, !2 }
!0 = !{ void (i64, float, ptr, ptr)* @"saxpy__map", !"maxntidx", i32 256 }
!1 = !{ void (i64, float, ptr, ptr)* @"saxpy__map", !"maxntidy", i32 1 }
!2 = !{ void (i64, float, ptr, ptr)* @"saxpy__map", !"maxntidz", i32 1 }