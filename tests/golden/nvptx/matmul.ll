; ModuleID = "matmul"
target triple = "nvptx64-nvidia-cuda"
target datalayout = "e-p6:32:32-i64:64-i128:128-i256:256-v16:16-v32:32-n16:32:64"

define ptx_kernel void @"matmul__map2d"(i64 %"n", ptr noalias readonly align 16 %"a", ptr noalias readonly align 16 %"b", ptr noalias align 16 %"c") nounwind
{
entry:
  %"n.1" = alloca i64
  %"i" = alloca i64
  %"j" = alloca i64
  %"s" = alloca float
  %"k" = alloca i64
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k.1" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".7" = load i64, i64* %"n.1"
  %".8" = load i64, i64* %"n.1"
  %".9" = mul i64 %".7", %".8"
  %".10" = load i64, i64* %"n.1"
  %".11" = load i64, i64* %"n.1"
  %".12" = mul i64 %".10", %".11"
  %".13" = load i64, i64* %"n.1"
  %".14" = load i64, i64* %"n.1"
  %".15" = mul i64 %".13", %".14"
  %".16" = load i64, i64* %"n.1"
  %".17" = load i64, i64* %"n.1"
  %".18" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.y"()
  %".19" = zext i32 %".18" to i64
  %".20" = mul i64 %".19", 8
  %".21" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.y"()
  %".22" = zext i32 %".21" to i64
  %".23" = add i64 %".20", %".22"
  %".24" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".25" = zext i32 %".24" to i64
  %".26" = mul i64 %".25", 32
  %".27" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".28" = zext i32 %".27" to i64
  %".29" = add i64 %".26", %".28"
  %".30" = call i32 @"llvm.nvvm.read.ptx.sreg.nctaid.y"()
  %".31" = zext i32 %".30" to i64
  %".32" = mul i64 %".31", 8
  %".33" = call i32 @"llvm.nvvm.read.ptx.sreg.nctaid.x"()
  %".34" = zext i32 %".33" to i64
  %".35" = mul i64 %".34", 32
  store i64 %".23", i64* %"base"
  br label %"k.head"
k.head:
  %".38" = load i64, i64* %"base"
  %".39" = icmp ult i64 %".38", %".16"
  br i1 %".39", label %"k.loop", label %"k.done"
k.loop:
  store i64 %".29", i64* %"pos"
  br label %"k.head.1"
k.done:
  ret void
k.head.1:
  %".43" = load i64, i64* %"pos"
  %".44" = icmp ult i64 %".43", %".17"
  br i1 %".44", label %"k.loop.1", label %"k.done.1"
k.loop.1:
  store i64 %".38", i64* %"i"
  store i64 %".43", i64* %"j"
  store float              0x0, float* %"s"
  %".49" = load i64, i64* %"n.1"
  store i64 0, i64* %"k"
  br label %"for.cond"
k.done.1:
  %".99" = load i64, i64* %"base"
  %".100" = add i64 %".99", %".32"
  store i64 %".100", i64* %"base"
  br label %"k.head"
for.cond:
  %".52" = load i64, i64* %"k"
  %".53" = icmp ult i64 %".52", %".49"
  br i1 %".53", label %"for.body", label %"for.end"
for.body:
  %".55" = load float, float* %"s"
  %".56" = load i64, i64* %"i"
  %".57" = load i64, i64* %"n.1"
  %".58" = mul i64 %".56", %".57"
  %".59" = load i64, i64* %"k"
  %".60" = add i64 %".58", %".59"
  %".61" = icmp ult i64 %".60", %".9"
  br i1 %".61", label %"load.in", label %"load.end"
for.end:
  %".84" = load i64, i64* %"i"
  %".85" = load i64, i64* %"n.1"
  %".86" = mul i64 %".84", %".85"
  %".87" = load i64, i64* %"j"
  %".88" = add i64 %".86", %".87"
  %".89" = load float, float* %"s"
  %".90" = icmp ult i64 %".88", %".15"
  br i1 %".90", label %"store.in", label %"store.end"
load.in:
  %".63" = getelementptr inbounds float, ptr %"a", i64 %".60"
  %".64" = load float, ptr %".63", align 4
  br label %"load.end"
load.end:
  %".66" = phi  float [%".64", %"load.in"], [             0x0, %"for.body"]
  %".67" = load i64, i64* %"k"
  %".68" = load i64, i64* %"n.1"
  %".69" = mul i64 %".67", %".68"
  %".70" = load i64, i64* %"j"
  %".71" = add i64 %".69", %".70"
  %".72" = icmp ult i64 %".71", %".12"
  br i1 %".72", label %"load.in.1", label %"load.end.1"
load.in.1:
  %".74" = getelementptr inbounds float, ptr %"b", i64 %".71"
  %".75" = load float, ptr %".74", align 4
  br label %"load.end.1"
load.end.1:
  %".77" = phi  float [%".75", %"load.in.1"], [             0x0, %"load.end"]
  %".78" = fmul float %".66", %".77"
  %".79" = fadd float %".55", %".78"
  store float %".79", float* %"s"
  %".81" = add nuw i64 %".52", 1
  store i64 %".81", i64* %"k"
  br label %"for.cond"
store.in:
  %".92" = getelementptr inbounds float, ptr %"c", i64 %".88"
  store float %".89", ptr %".92", align 4
  br label %"store.end"
store.end:
  %".95" = load i64, i64* %"pos"
  %".96" = add i64 %".95", %".35"
  store i64 %".96", i64* %"pos"
  br label %"k.head.1"
}

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.y"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.y"()

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.nctaid.y"()

declare i32 @"llvm.nvvm.read.ptx.sreg.nctaid.x"()
