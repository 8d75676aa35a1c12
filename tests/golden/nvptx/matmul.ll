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
  %"x.tile" = alloca float
  %"y.tile" = alloca float
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k.1" = alloca i64
  %"kk" = alloca i64
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
  %".18" = load i64, i64* %"n.1"
  %".19" = call i32 @"llvm.nvvm.read.ptx.sreg.nctaid.y"()
  %".20" = zext i32 %".19" to i64
  %".21" = mul i64 %".20", 16
  %".22" = call i32 @"llvm.nvvm.read.ptx.sreg.nctaid.x"()
  %".23" = zext i32 %".22" to i64
  %".24" = mul i64 %".23", 16
  %".25" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.y"()
  %".26" = zext i32 %".25" to i64
  %".27" = mul i64 %".26", 16
  store i64 %".27", i64* %"base"
  br label %"k.head"
k.head:
  %".30" = load i64, i64* %"base"
  %".31" = icmp ult i64 %".30", %".16"
  br i1 %".31", label %"k.loop", label %"k.done"
k.loop:
  %".33" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".34" = zext i32 %".33" to i64
  %".35" = mul i64 %".34", 16
  store i64 %".35", i64* %"pos"
  br label %"k.head.1"
k.done:
  ret void
k.head.1:
  %".38" = load i64, i64* %"pos"
  %".39" = icmp ult i64 %".38", %".17"
  br i1 %".39", label %"k.loop.1", label %"k.done.1"
k.loop.1:
  %".41" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.y"()
  %".42" = zext i32 %".41" to i64
  %".43" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".44" = zext i32 %".43" to i64
  %".45" = add i64 %".30", %".42"
  %".46" = add i64 %".38", %".44"
  %".47" = mul i64 %".42", 16
  %".48" = add i64 %".47", %".44"
  store float              0x0, float* %"s"
  store i64 0, i64* %"k.1"
  br label %"k.head.2"
k.done.1:
  %".147" = load i64, i64* %"base"
  %".148" = add i64 %".147", %".21"
  store i64 %".148", i64* %"base"
  br label %"k.head"
k.head.2:
  %".52" = load i64, i64* %"k.1"
  %".53" = icmp ult i64 %".52", %".18"
  br i1 %".53", label %"k.loop.2", label %"k.done.2"
k.loop.2:
  store i64 %".45", i64* %"i"
  %".56" = add i64 %".52", %".44"
  store i64 %".56", i64* %"k"
  %".58" = load i64, i64* %"i"
  %".59" = load i64, i64* %"n.1"
  %".60" = mul i64 %".58", %".59"
  %".61" = load i64, i64* %"k"
  %".62" = add i64 %".60", %".61"
  %".63" = icmp ult i64 %".62", %".9"
  br i1 %".63", label %"load.in", label %"load.end"
k.done.2:
  %".125" = icmp ult i64 %".45", %".16"
  %".126" = icmp ult i64 %".46", %".17"
  %".127" = and i1 %".125", %".126"
  br i1 %".127", label %"k.then", label %"k.end"
load.in:
  %".65" = getelementptr inbounds float, ptr %"a", i64 %".62"
  %".66" = load float, ptr %".65", align 4
  br label %"load.end"
load.end:
  %".68" = phi  float [%".66", %"load.in"], [             0x0, %"k.loop.2"]
  %".69" = trunc i64 %".48" to i32
  %".70" = getelementptr inbounds [256 x float], [256 x float] addrspace(3)* @"matmul__map2d.shared1", i32 0, i32 %".69"
  store float %".68", float addrspace(3)* %".70"
  store i64 %".46", i64* %"j"
  %".73" = add i64 %".52", %".42"
  store i64 %".73", i64* %"k"
  %".75" = load i64, i64* %"k"
  %".76" = load i64, i64* %"n.1"
  %".77" = mul i64 %".75", %".76"
  %".78" = load i64, i64* %"j"
  %".79" = add i64 %".77", %".78"
  %".80" = icmp ult i64 %".79", %".12"
  br i1 %".80", label %"load.in.1", label %"load.end.1"
load.in.1:
  %".82" = getelementptr inbounds float, ptr %"b", i64 %".79"
  %".83" = load float, ptr %".82", align 4
  br label %"load.end.1"
load.end.1:
  %".85" = phi  float [%".83", %"load.in.1"], [             0x0, %"load.end"]
  %".86" = trunc i64 %".48" to i32
  %".87" = getelementptr inbounds [256 x float], [256 x float] addrspace(3)* @"matmul__map2d.shared2", i32 0, i32 %".86"
  store float %".85", float addrspace(3)* %".87"
  call void @"llvm.nvvm.barrier0"()
  %".90" = sub i64 %".18", %".52"
  %".91" = icmp ult i64 %".90", 16
  %".92" = select  i1 %".91", i64 %".90", i64 16
  store i64 0, i64* %"kk"
  br label %"k.head.3"
k.head.3:
  %".95" = load i64, i64* %"kk"
  %".96" = icmp ult i64 %".95", %".92"
  br i1 %".96", label %"k.loop.3", label %"k.done.3"
k.loop.3:
  %".98" = mul i64 %".42", 16
  %".99" = add i64 %".98", %".95"
  %".100" = trunc i64 %".99" to i32
  %".101" = getelementptr inbounds [256 x float], [256 x float] addrspace(3)* @"matmul__map2d.shared1", i32 0, i32 %".100"
  %".102" = load float, float addrspace(3)* %".101"
  %".103" = mul i64 %".95", 16
  %".104" = add i64 %".103", %".44"
  %".105" = trunc i64 %".104" to i32
  %".106" = getelementptr inbounds [256 x float], [256 x float] addrspace(3)* @"matmul__map2d.shared2", i32 0, i32 %".105"
  %".107" = load float, float addrspace(3)* %".106"
  store float %".102", float* %"x.tile"
  store float %".107", float* %"y.tile"
  %".110" = load float, float* %"s"
  %".111" = load float, float* %"x.tile"
  %".112" = load float, float* %"y.tile"
  %".113" = fmul float %".111", %".112"
  %".114" = fadd float %".110", %".113"
  store float %".114", float* %"s"
  %".116" = load i64, i64* %"kk"
  %".117" = add i64 %".116", 1
  store i64 %".117", i64* %"kk"
  br label %"k.head.3"
k.done.3:
  call void @"llvm.nvvm.barrier0"()
  %".121" = load i64, i64* %"k.1"
  %".122" = add i64 %".121", 16
  store i64 %".122", i64* %"k.1"
  br label %"k.head.2"
k.then:
  store i64 %".45", i64* %"i"
  store i64 %".46", i64* %"j"
  %".131" = load i64, i64* %"i"
  %".132" = load i64, i64* %"n.1"
  %".133" = mul i64 %".131", %".132"
  %".134" = load i64, i64* %"j"
  %".135" = add i64 %".133", %".134"
  %".136" = load float, float* %"s"
  %".137" = icmp ult i64 %".135", %".15"
  br i1 %".137", label %"store.in", label %"store.end"
k.end:
  %".143" = load i64, i64* %"pos"
  %".144" = add i64 %".143", %".24"
  store i64 %".144", i64* %"pos"
  br label %"k.head.1"
store.in:
  %".139" = getelementptr inbounds float, ptr %"c", i64 %".135"
  store float %".136", ptr %".139", align 4
  br label %"store.end"
store.end:
  br label %"k.end"
}

@"matmul__map2d.shared1" = internal addrspace(3) global [256 x float] undef
@"matmul__map2d.shared2" = internal addrspace(3) global [256 x float] undef
declare i32 @"llvm.nvvm.read.ptx.sreg.nctaid.y"()

declare i32 @"llvm.nvvm.read.ptx.sreg.nctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.y"()

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.y"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()

declare void @"llvm.nvvm.barrier0"()

!nvvm.annotations = !{ !0, !1, !2 }
!0 = !{ void (i64, ptr, ptr, ptr)* @"matmul__map2d", !"maxntidx", i32 16 }
!1 = !{ void (i64, ptr, ptr, ptr)* @"matmul__map2d", !"maxntidy", i32 16 }
!2 = !{ void (i64, ptr, ptr, ptr)* @"matmul__map2d", !"maxntidz", i32 1 }